#!/bin/sh
# The demo database's roles for Vigil's exporters, run once by the postgres
# image's entrypoint when the data volume is empty (docker-compose.yml, profile
# demo, mounted after the shop schema). Passwords come from the Compose
# secrets (files in SECRETS_DIR, default /run/secrets), never from this file;
# psql quotes them (:'var').
#
#   vigil_monitor  pg_monitor only            (postgres exporter)
#   vigil_reader   SELECT on the shop tables  (sql exporter)
#   vigil_incidents  owner of the `incidents` database (incident recorder)
#
# The entrypoint sources scripts that are not executable, so this one sets no
# shell options and exits only through psql's status.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-shop}" \
    -v monitor_password="$(cat "${SECRETS_DIR:-/run/secrets}/vigil_pg_password")" \
    -v reader_password="$(cat "${SECRETS_DIR:-/run/secrets}/vigil_sql_password")" \
    -v incidents_password="$(cat "${SECRETS_DIR:-/run/secrets}/vigil_incidents_password")" <<'SQL'
CREATE ROLE vigil_monitor LOGIN PASSWORD :'monitor_password';
GRANT pg_monitor TO vigil_monitor;
CREATE ROLE vigil_reader LOGIN PASSWORD :'reader_password';
GRANT USAGE ON SCHEMA public TO vigil_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO vigil_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO vigil_reader;
ALTER ROLE vigil_reader SET default_transaction_read_only = on;
CREATE ROLE vigil_incidents LOGIN PASSWORD :'incidents_password';
CREATE DATABASE incidents OWNER vigil_incidents;
SQL
