"""User accounts: registration with an e-mail code, passwords, API tokens, roles."""
