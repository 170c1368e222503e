#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (docker-entrypoint-initdb.d):
# the roles and databases of Chainflow and Temporal, each owned by its own role.
# For an existing server, run the same statements by hand (docs/deploy.md).
set -eu
: "${CHAINFLOW_DB_PASSWORD:?CHAINFLOW_DB_PASSWORD is not set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v chainflow_pw="$CHAINFLOW_DB_PASSWORD" -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE chainflow LOGIN PASSWORD :'chainflow_pw';
CREATE DATABASE chainflow OWNER chainflow;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
