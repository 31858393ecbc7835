#!/usr/bin/env bash
# Restore a backup made by db_backup.sh (psql), replacing the public schema entirely.
#
# Usage: scripts/db_restore.sh BACKUP_FILE
#   DATABASE_URL  the database to restore into (postgresql+psycopg2://... or postgresql://...)
#   PG_EXEC       optional prefix that runs psql elsewhere, e.g. "docker compose exec -T postgres"
# Runs in one transaction with ON_ERROR_STOP: either the whole backup is restored, or nothing
# changes. Tables created after the backup was taken (a newer migration) are dropped with the
# schema, so the database is exactly what was backed up.
set -euo pipefail
# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

file="${1:?usage: db_restore.sh BACKUP_FILE}"
[[ -s "$file" ]] || die "backup file not found or empty: $file"
gzip -t "$file" || die "backup file is not a valid gzip file: $file"
url=$(libpq_url "${DATABASE_URL:?DATABASE_URL must be set}")

{
    echo "SET client_min_messages = warning;"
    echo "DROP SCHEMA IF EXISTS public CASCADE;"
    echo "CREATE SCHEMA public;"
    gzip -dc "$file"
} | ${PG_EXEC:-} psql --dbname="$url" --quiet --no-psqlrc --set=ON_ERROR_STOP=1 \
    --single-transaction --file=- --output=/dev/null
log "restored ${file}"
