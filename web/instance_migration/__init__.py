"""Moving running cases to another version of their process: page and JSON API (engine.migration_runs)."""
