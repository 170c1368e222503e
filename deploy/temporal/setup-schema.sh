#!/bin/sh
# Creates or upgrades Temporal's schema in its two PostgreSQL databases (made by
# deploy/postgres/init.sh). Idempotent: setup-schema skips a database that already has
# a schema, update-schema applies only newer versions. Runs in temporalio/admin-tools.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is not set}"
: "${POSTGRES_USER:?POSTGRES_USER is not set}"
: "${SQL_PASSWORD:?SQL_PASSWORD is not set}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

attempt=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do
  if [ "$attempt" -ge 60 ]; then echo "PostgreSQL at $POSTGRES_SEEDS:$PORT is unreachable" >&2; exit 1; fi
  attempt=$((attempt + 1)); sleep 2
done

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"; }
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema is up to date"
