"""Staff work on human tasks: the inbox's filters, queries, saved filters, task actions and the task screen."""
