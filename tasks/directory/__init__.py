"""The directory of medical organisations: a copy of the registry's list kept in our database, refreshed on a
schedule, searched by the public pages and the API, and used by appointment booking."""
