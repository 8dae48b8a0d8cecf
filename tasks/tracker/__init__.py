"""A citizen's own view of what the service holds about them: who read their data, and the export of it all
(152-ФЗ)."""
