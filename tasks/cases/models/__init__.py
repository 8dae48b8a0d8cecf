"""The tables of cases: applications and their documents and certificates, employee lists, notifications,
organisations. web.app imports each module so that Alembic sees every table."""
