"""«Запись к врачу»: the citizen's pages and /api/v1/appointments."""
