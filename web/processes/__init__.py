"""The analyst's read-only view of the deployed processes (web/processes/pages.py)."""
