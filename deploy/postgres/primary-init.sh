#!/bin/bash
# Runs once, when the primary's data folder is created (the postgres image's
# /docker-entrypoint-initdb.d): lets the streaming replica connect for
# replication with the same password as the application.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >>"$PGDATA/pg_hba.conf"
