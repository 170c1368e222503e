#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (docker-entrypoint-initdb.d):
# the roles and databases of Chainflow and Temporal, each owned by its own role, and the
# pgvector extension in Chainflow's database (the image ships it; creating an extension
# needs a superuser, so it is done here rather than by Chainflow's migrations).
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

# pgvector/pgvector images ship the extension; on a plain postgres image this is skipped
# and knowledge bases use the exact float8[] search (docs/ai.md).
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname chainflow <<'SQL'
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
  ELSE
    RAISE NOTICE 'pgvector is not installed in this image: knowledge bases use the exact search';
  END IF;
END
$$;
SQL
