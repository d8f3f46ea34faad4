#!/usr/bin/env bash
# Measures `newsdesk import wordpress` on a generated export of N posts
# (default 100000) into a new private cluster, then runs it again (which
# must change nothing) and prints both times and rates.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
out="target/bench/import-$N"
cargo build --release --quiet
mkdir -p "$out"
rm -rf "$out/data"
[ -s "$out/export.xml" ] || python3 bench/wxr.py "$N" > "$out/export.xml"
ls -l "$out/export.xml"
export NEWSDESK_DATA_DIR="$out/data" NEWSDESK_WAL_ARCHIVE=false NEWSDESK_LOG=warn
unset DATABASE_URL
# A site to import into: the demo newsroom (units, an administrator).
target/release/newsdesk seed-demo >/dev/null
for run in first second; do
  echo "== $run run"
  /usr/bin/time -f "%e s, %M KB peak memory" target/release/newsdesk import wordpress "$out/export.xml"
done
