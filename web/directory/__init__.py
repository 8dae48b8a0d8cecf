"""The public directory of medical organisations: pages and the JSON API over the table in tasks.directory."""
