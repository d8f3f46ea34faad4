#!/usr/bin/env bash
# 全部稿件 at scale: bench/all-stories.sh [STORIES]   (default 1000000)
#
# Uses the data set bench/run.sh generates (target/bench/STORIES), starts
# the release server on it, signs in as a chief editor (who sees every
# story) and times the list with varied filters, each URL twice: the first
# read after the start (cold for that query) and again (warm). Prints one
# line per URL: milliseconds cold, warm, and the count the page shows.
set -euo pipefail
cd "$(dirname "$0")/.."

STORIES=${1:-1000000}
DATA=${BENCH_DATA_DIR:-target/bench/$STORIES}
PORT=${BENCH_PORT:-18081}
BASE="http://127.0.0.1:$PORT"
BIN=target/release/newsdesk
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then kill -TERM "$SERVER"; wait "$SERVER" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -e "$DATA/generated" ] || { echo "no data set under $DATA: run bench/run.sh $STORIES first" >&2; exit 1; }
cargo build --release --quiet
export NEWSDESK_DATA_DIR="$DATA" NEWSDESK_DEMO=false NEWSDESK_LOG=warn
if [ ! -e "$DATA/chief-password" ]; then
  password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$password" | "$BIN" create-user --username bench-chief --role chief_editor --display-name 压测总编
  echo "$password" >"$DATA/chief-password"
fi
NEWSDESK_BIND="127.0.0.1:$PORT" "$BIN" serve >>"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.5; done

jar="$WORK/cookies"
page=$(curl -s -c "$jar" -b "$jar" "$BASE/admin/login")
token=$(printf '%s' "$page" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" \
  --data-urlencode "csrf_token=$token" --data-urlencode "username=bench-chief" \
  --data-urlencode "password=$(cat "$DATA/chief-password")" "$BASE/admin/login"

writer=$(runuser -u postgres -- psql -h "$PWD/$DATA/postgres/run" -U newsdesk -d newsdesk -Atc \
  "select display_name from users where role = 'correspondent' order by username limit 1 offset 17" 2>/dev/null || true)
unit=$(runuser -u postgres -- psql -h "$PWD/$DATA/postgres/run" -U newsdesk -d newsdesk -Atc \
  "select id from units where parent_id is not null order by name limit 1 offset 3" 2>/dev/null || true)
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
urls=(
  "/admin/articles/all"
  "/admin/articles/all?page=2"
  "/admin/articles/all?page=200"
  "/admin/articles/all?sort=published"
  "/admin/articles/all?sort=number&page=37"
  "/admin/articles/all?status=draft"
  "/admin/articles/all?status=published&from=2026-06-01&to=2026-06-30"
  "/admin/articles/all?q=$(enc 电网)"
  "/admin/articles/all?q=$(enc 变电站)&sort=published"
  "/admin/articles/all?q=$(enc 光伏 扶贫)"
  "/admin/articles/all?writer=$(enc "$writer")"
  "/admin/articles/all?unit=$unit"
  "/admin/articles/all?unit=$unit&status=published&page=3"
)
printf '%-70s %8s %8s  %s\n' URL cold_ms warm_ms shown
for url in "${urls[@]}"; do
  times=()
  for _ in 1 2; do
    t=$(curl -s -o "$WORK/page" -w '%{time_total}' -b "$jar" "$BASE$url")
    times+=("$(python3 -c "print(round($t*1000))")")
  done
  shown=$(grep -o '<p class="result-count"[^<]*' "$WORK/page" | sed 's/.*>//' | head -1)
  printf '%-70s %8s %8s  %s\n' "$url" "${times[0]}" "${times[1]}" "$shown"
done
