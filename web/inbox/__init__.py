"""Staff work on human tasks: the inbox API (the inbox pages build on the same queries)."""
