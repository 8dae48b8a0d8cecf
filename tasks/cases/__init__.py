"""Cases of the OMS certificate service: applications, their documents and certificates."""
