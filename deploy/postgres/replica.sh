#!/bin/bash
# A streaming replica of the primary: on its first start it copies the
# primary (pg_basebackup -R writes the standby settings and the connection
# back to the primary), then runs as a hot standby. Run as the postgres user
# with PGPASSWORD, PRIMARY_HOST and POSTGRES_USER set.
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U "$POSTGRES_USER" -q; do sleep 1; done
  pg_basebackup -h "$PRIMARY_HOST" -U "$POSTGRES_USER" -D "$PGDATA" \
    -R -X stream --checkpoint=fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
