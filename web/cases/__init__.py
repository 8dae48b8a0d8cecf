"""Citizen-facing case handling: the JSON API, the portal pages, uploads, public verification."""
