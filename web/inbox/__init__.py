"""Staff work on human tasks: the inbox pages and API over the domain in tasks.inbox (filters, queries, actions)."""
