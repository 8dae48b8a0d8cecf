"""The supervisor's dashboard (cases by status, queues, SLA, time to decision) and the staff audit of a case."""
