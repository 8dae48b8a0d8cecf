"""Accounts: the user table, roles, password and secret handling - used by the web pages and the workers alike."""
