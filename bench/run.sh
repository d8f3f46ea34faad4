#!/usr/bin/env bash
# Load benchmark: bench/run.sh [STORIES]   (default 10000)
#
# Builds the release binary, generates a data set of STORIES published
# stories (2 comments per story) under target/bench/STORIES, or reuses it,
# starts the server on it and measures each page with wrk, in rounds; prints
# one table (requests per second, p50 / p95 / p99 latency, each the median
# of the rounds; errors over all rounds; throughput as a share of a
# constant route of the same server in the same run) and the server's peak
# memory. One round's p99 on this kind of machine moves by tens of
# milliseconds with what else the host runs; the median of three does not.
#
# Searches are varied as readers' are: a few hundred queries drawn from the
# data set's own words (bench/search-queries.py: frequent, mid and rare
# words, two-word queries, 繁體, channel and date filters), pages 1 to 5,
# newest first and by relevance, with the page cache on and off; the off
# rows run at 8 connections, as readers' searches arrive. The cached story
# page is set against nginx serving the same bytes as a static file, in the
# same run.
#
# Settings: BENCH_SECONDS (10 per round), BENCH_ROUNDS (3),
# BENCH_CONNECTIONS (64), BENCH_DATA_DIR (target/bench/STORIES),
# BENCH_PORT (18080), BENCH_ROWS (a regular expression: only the rows whose
# names match, besides the constant route), BENCH_BIG_CACHE_MB (2048: the page cache that holds
# every story of the working set).
set -euo pipefail
cd "$(dirname "$0")/.."

STORIES=${1:-10000}
SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DATA=${BENCH_DATA_DIR:-target/bench/$STORIES}
PORT=${BENCH_PORT:-18080}
BASE="http://127.0.0.1:$PORT"
ANSWER=BENCH
BIN=target/release/newsdesk
WORK=$(mktemp -d)
SERVER=""

cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null || ! command -v psql >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk postgresql-client nginx-light >/dev/null
fi
cargo build --release --quiet

export NEWSDESK_DATA_DIR="$DATA" NEWSDESK_DEMO=false NEWSDESK_LOG=warn
mkdir -p "$DATA"
if [ ! -e "$DATA/generated" ]; then
  "$BIN" generate --articles "$STORIES" --comments $((STORIES * 2))
  touch "$DATA/generated"
fi
if [ ! -e "$DATA/editor-password" ]; then
  password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$password" | "$BIN" create-user --username bench-editor --role editor --display-name 压测编辑
  echo "$password" >"$DATA/editor-password"
fi

start() { # $1: page cache MiB
  NEWSDESK_BIND="127.0.0.1:$PORT" NEWSDESK_TEST_CAPTCHA=$ANSWER NEWSDESK_TRUSTED_PROXIES=127.0.0.1 \
    NEWSDESK_PAGE_CACHE_MB="$1" "$BIN" serve >>"$DATA/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not start; see $DATA/server.log" >&2
  exit 1
}

psql_data() { # psql on the data set's private cluster
  local dir=$DATA
  [[ $dir == /* ]] || dir=$PWD/$dir
  PGOPTIONS="-c client_min_messages=warning" psql -h "$dir/postgres/run" -U newsdesk -d newsdesk -qAt "$@"
}

# Waits (up to 15 minutes) until the machine is nearly idle and the server
# runs no statement: at start-up the server builds the statistics' stale
# days, fills in search vectors and computes the kept parts of stories'
# pages (minutes, once, on a fresh data set), which would otherwise compete
# with the pages measured. A statement that waits on the disk leaves the
# processors idle, hence the second condition.
settle() {
  local busy active
  for _ in $(seq 1 900); do
    busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep 1
    busy=$(awk -v before="$busy" '/^cpu / {
      split(before, b, " ")
      printf "%d", 100 * (($2 + $3 + $4 + $7 + $8) - b[1]) / (($2 + $3 + $4 + $5 + $6 + $7 + $8) - b[2])
    }' /proc/stat)
    [ "$busy" -lt 10 ] || continue
    active=$(psql_data -c "select count(*) from pg_stat_activity
      where datname = current_database() and state = 'active' and pid <> pg_backend_pid()")
    [ "$active" = 0 ] && return 0
  done
}

# Reads what an article page reads (the stories' rows, their kept page
# parts, view totals and comments, and the indexes they are found by) into the
# operating system's cache once the server has settled. At a million
# stories the data set is nearly as large as this machine's memory, and how
# much of it the cache still held after a start varied from run to run
# (random stories: 3,300 to 6,200 pages a second); read first, every run
# measures a server whose working set is in memory.
prewarm() {
  psql_data -c "create extension if not exists pg_prewarm" \
    -c "select pg_prewarm(relation, 'read') from unnest(array['articles', 'articles_number_key',
          'article_page_parts', 'article_page_parts_pkey', 'article_totals',
          'article_totals_pkey', 'comments', 'comments_article',
          'comments_replies']::regclass[]) relation" >/dev/null
}

stop() {
  kill -TERM "$SERVER"
  wait "$SERVER" || true
  SERVER=""
}

peak_memory() {
  awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER/status"
}

median() { # of the numbers on stdin
  sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# One RESULT line from the rounds' (on stdin): the median of each figure,
# errors and requests summed.
combine() {
  local rounds i line
  rounds=$(cat)
  line=RESULT
  for i in 2 3 4 5; do
    line+=" $(awk -v i="$i" '{ print $i }' <<<"$rounds" | median)"
  done
  for i in 6 7; do
    line+=" $(awk -v i="$i" '{ s += $i } END { print s }' <<<"$rounds")"
  done
  echo "$line"
}

declare -a NAMES=() RESULTS=() HEADER=()
ROUND_SETUP=""
measure() { # name script url [script arguments...]; HEADER: extra wrk options
  local name=$1 script=$2 url=$3
  shift 3
  # BENCH_ROWS: only the rows whose names match (the constant route always).
  if [ -n "${BENCH_ROWS:-}" ] && [ "${#NAMES[@]}" -gt 0 ] && ! grep -Eq -- "${BENCH_ROWS}" <<<"$name"; then
    return 0
  fi
  # Warming up (not for posting: captcha ids are used once): one request
  # that waits for the page's first render after a start (the home page's
  # rankings take seconds at a million stories), then a second of load.
  if [ "$script" != comments.lua ]; then
    curl -s -o /dev/null --max-time 60 "${HEADER[@]}" "$url" || true
    wrk -t2 -c"$CONNECTIONS" -d1s "${HEADER[@]}" -s "bench/$script" "$url" -- "$@" >/dev/null 2>&1 || true
  fi
  local rounds="" line
  for _ in $(seq 1 "$ROUNDS"); do
    [ -z "$ROUND_SETUP" ] || "$ROUND_SETUP"
    line=$(wrk -t2 -c"${CONN:-$CONNECTIONS}" -d"${SECONDS_EACH}s" --timeout 10s "${HEADER[@]}" -s "bench/$script" "$url" -- "$@" |
      grep '^RESULT' || echo "RESULT 0 0 0 0 -1 0")
    echo "  $name: $line" >&2
    rounds+="$line"$'\n'
  done
  NAMES+=("$name")
  RESULTS+=("$(combine <<<"${rounds%$'\n'}")")
}

cookies() { # a curl cookie jar as a Cookie header
  sed 's/^#HttpOnly_//' "$1" | awk '!/^#/ && NF == 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }'
}

# The search paths, written once per data set (reading the database).
if [ ! -s "$DATA/search-paths" ]; then
  start 0
  settle
  dir=$DATA
  [[ $dir == /* ]] || dir=$PWD/$dir
  python3 bench/search-queries.py "$dir/postgres/run" "$DATA/search-paths.new" "${BENCH_QUERIES:-320}"
  mv "$DATA/search-paths.new" "$DATA/search-paths"
  stop
fi
paths() { # kind-pattern order-pattern: a file of the matching search paths
  local file="$WORK/paths-$1-$2"
  awk -F '\t' -v k="$1" -v o="$2" '$1 ~ k && $2 ~ o { print $3 }' "$DATA/search-paths" >"$file"
  echo "$file"
}

# Sessions of N editors for the review queue, each signed in once.
sessions() { # count: a file of "path<TAB>cookie" lines
  local n=$1 file="$WORK/sessions" i jar token
  : >"$file"
  for i in $(seq 1 "$n"); do
    if [ ! -e "$DATA/reviewer-$i-password" ]; then
      password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      echo "$password" | "$BIN" create-user --username "bench-reviewer-$i" --role editor --display-name "压测编辑$i" >/dev/null
      echo "$password" >"$DATA/reviewer-$i-password"
    fi
    jar="$WORK/reviewer-$i.jar"
    token=$(curl -fs -c "$jar" -b "$jar" "$BASE/admin/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
    curl -fs -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" \
      --data-urlencode "csrf_token=$token" --data-urlencode "username=bench-reviewer-$i" \
      --data-urlencode "password=$(cat "$DATA/reviewer-$i-password")" "$BASE/admin/login"
    printf '/admin/articles\t%s\n' "$(cookies "$jar")" >>"$file"
  done
  echo "$file"
}

start 64
settle
prewarm
echo "Measuring $STORIES stories, $CONNECTIONS connections, $ROUNDS rounds of ${SECONDS_EACH}s per page" >&2
measure "constant route (/favicon.ico)" plain.lua "$BASE/favicon.ico"
measure "article, one story (cached)" plain.lua "$BASE/articles/$((STORIES / 2))"
# The same bytes from nginx, as a static file: what a page-cache plugin
# serving files can at best reach.
mkdir -p "$WORK/nginx/html" "$WORK/nginx/logs"
curl -fs "$BASE/articles/$((STORIES / 2))" >"$WORK/nginx/html/article.html"
# Run as root, nginx's workers are nobody: they must be able to read it.
chmod a+rx "$WORK" "$WORK/nginx" "$WORK/nginx/html"
chmod a+r "$WORK/nginx/html/article.html"
cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type text/html;
  server { listen 127.0.0.1:$((PORT + 10)); root $WORK/nginx/html; }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
measure "nginx, the same page as a static file" plain.lua "http://127.0.0.1:$((PORT + 10))/article.html"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -s quit
measure "article, random stories" articles.lua "$BASE/articles/1" "$STORIES"
measure "home page" plain.lua "$BASE/"

# The 500th page of the largest channel (or its last page when smaller).
deep="/channels/yaowen"
pages=1
while [ "$pages" -lt 500 ]; do
  next=$(curl -fs "$BASE$deep" | grep -o 'href="/channels/yaowen?before=[0-9]*"' | head -1 | sed 's/href="//; s/"$//' || true)
  [ -z "$next" ] && break
  deep=$next
  pages=$((pages + 1))
done
measure "channel page $pages" plain.lua "$BASE$deep"

measure "search, one query (cached)" plain.lua "$BASE/search?q=%E7%94%B5%E7%BD%91"
measure "search, varied (cached as they repeat)" paths.lua "$BASE/" "$(paths . .)"
measure "feed.xml" plain.lua "$BASE/feed.xml"

# The editor's review queue, signed in.
jar="$WORK/editor.jar"
token=$(curl -fs -c "$jar" -b "$jar" "$BASE/admin/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -fs -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" \
  --data-urlencode "csrf_token=$token" --data-urlencode "username=bench-editor" \
  --data-urlencode "password=$(cat "$DATA/editor-password")" "$BASE/admin/login"
HEADER=(-H "Cookie: $(cookies "$jar")")
measure "review queue (editor)" plain.lua "$BASE/admin/articles"
measure "statistics, a year (editor)" plain.lua "$BASE/admin/stats?period=year"
HEADER=()
CONN=20 measure "review queue, 20 editors at once" sessions.lua "$BASE/" "$(sessions 20)"

# Comment posting: fresh captcha ids for each round, the test answer, one
# browser's token.
ids="$WORK/captchas"
fresh_captchas() {
  : >"$ids"
  wrk -t2 -c16 -d"$((SECONDS_EACH + 3))s" -s bench/captchas.lua "$BASE/captcha/new" -- "$ids" >/dev/null
}
reader="$WORK/reader.jar"
form=$(curl -fs -c "$reader" -b "$reader" "$BASE/articles/1")
csrf=$(echo "$form" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
ROUND_SETUP=fresh_captchas
measure "post a comment (test captcha)" comments.lua "$BASE/" \
  "$ids" "$csrf" "$(cookies "$reader")" "$STORIES" "$ANSWER"
ROUND_SETUP=""
MEMORY=$(peak_memory)
stop

start "${BENCH_BIG_CACHE_MB:-2048}"
settle
prewarm
measure "article, random stories (page cache ${BENCH_BIG_CACHE_MB:-2048} MB)" articles.lua "$BASE/articles/1" "$STORIES"
measure "article, random stories (same, second pass)" articles.lua "$BASE/articles/1" "$STORIES"
stop

start 0
settle
prewarm
measure "article, one story (page cache off)" plain.lua "$BASE/articles/$((STORIES / 2))"
measure "article, random stories (page cache off)" articles.lua "$BASE/articles/1" "$STORIES"
CONN=8 measure "search, varied, newest first (off, 8 conn)" paths.lua "$BASE/" "$(paths . newest)"
CONN=8 measure "search, varied, relevance (off, 8 conn)" paths.lua "$BASE/" "$(paths . relevance)"
CONN=8 measure "search, frequent words (off, 8 conn)" paths.lua "$BASE/" "$(paths '^frequent$' .)"
CONN=8 measure "search, mid words (off, 8 conn)" paths.lua "$BASE/" "$(paths '^mid$' .)"
CONN=8 measure "search, rare words (off, 8 conn)" paths.lua "$BASE/" "$(paths '^rare$' .)"
CONN=8 measure "search, two words (off, 8 conn)" paths.lua "$BASE/" "$(paths '^two_words$' .)"
CONN=8 measure "search, 繁體 (off, 8 conn)" paths.lua "$BASE/" "$(paths '^traditional$' .)"
CONN=8 measure "search, channel or dates (off, 8 conn)" paths.lua "$BASE/" "$(paths '^(channel|dates)$' .)"
measure "search, varied (off, $CONNECTIONS conn)" paths.lua "$BASE/" "$(paths . .)"
MEMORY_OFF=$(peak_memory)
stop

read -r _ constant _ <<<"${RESULTS[0]}"
printf '\n%s stories, %s connections, %s rounds of %ss per page (medians)\n\n' "$STORIES" "$CONNECTIONS" "$ROUNDS" "$SECONDS_EACH"
printf '| %-42s | %9s | %8s | %8s | %8s | %6s | %8s |\n' page "req/s" "p50 ms" "p95 ms" "p99 ms" errors "% const"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..44})" "-----------" "----------" "----------" "----------" "--------" "----------"
for i in "${!NAMES[@]}"; do
  read -r _ rps p50 p95 p99 errors _ <<<"${RESULTS[$i]}"
  share=$(awk -v a="$rps" -v b="$constant" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }')
  printf '| %-42s | %9s | %8s | %8s | %8s | %6s | %8s |\n' "${NAMES[$i]}" "$rps" "$p50" "$p95" "$p99" "$errors" "$share"
done
printf '\nPeak server memory: %s MB (page cache on), %s MB (page cache off)\n' "$MEMORY" "$MEMORY_OFF"
