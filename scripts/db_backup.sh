#!/usr/bin/env bash
# Back up the PostgreSQL database to a gzipped plain SQL file (pg_dump).
#
# Usage: scripts/db_backup.sh [OUTPUT_DIR]
#   DATABASE_URL  the database (postgresql+psycopg2://... or postgresql://...); required
#   OUTPUT_DIR    where the file goes (default: $BACKUP_DIR or ./backups)
#   PG_EXEC       optional prefix that runs pg_dump elsewhere, e.g. "docker compose exec -T postgres"
#                 (deploy.sh uses it so the server needs no PostgreSQL client of its own)
# Prints the path of the backup file as the last line of stdout. The file is written under a
# temporary name and renamed only once pg_dump has succeeded and gzip has verified it.
set -euo pipefail
# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

url=$(libpq_url "${DATABASE_URL:?DATABASE_URL must be set}")
out_dir="${1:-${BACKUP_DIR:-./backups}}"
mkdir -p "$out_dir"

db_name="${url##*/}"
db_name="${db_name%%\?*}"
file="${out_dir}/alphavelocity-${db_name:-db}-$(date -u +%Y%m%dT%H%M%SZ).sql.gz"
tmp="${file}.partial"
trap 'rm -f "$tmp"' EXIT

# PG_EXEC is a command prefix, split into words on purpose. The materialised score books
# (score_snapshots) are derived data, gigabytes at scale: their rows are left out, and a
# restored database scores its store again once.
# shellcheck disable=SC2086
${PG_EXEC:-} pg_dump --dbname="$url" --no-owner --no-privileges --format=plain \
  --exclude-table-data=score_snapshots | gzip -c >"$tmp"
gzip -t "$tmp"
mv "$tmp" "$file"
log "backup of ${db_name} written to ${file} ($(wc -c <"$file") bytes)"
echo "$file"
