"""Step analytics of a process: passes, times and breaches per element, cases per sequence flow."""
