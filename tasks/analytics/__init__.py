"""Step analytics: what each diagram element of a process did over a period, and the daily roll-ups behind
those figures on PostgreSQL (rolled up by the scheduler, read by the analysts' pages)."""
