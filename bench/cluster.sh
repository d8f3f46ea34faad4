#!/usr/bin/env bash
# Scale check on one machine: bench/cluster.sh [STORIES]   (default 10000)
#
# Starts the deployment of deploy/ on this machine: a PostgreSQL primary, one
# streaming replica, two Newsdesk nodes sharing one data folder and nginx in
# front of them, configured by deploy/nginx.conf itself (only addresses and
# folders are rewritten). Then, under load through nginx (readers on story,
# home, channel and search pages; anonymous commenters, each comment with a
# fresh captcha; editors on the review queue), it goes through these phases
# and prints, for each, the requests and the failed ones of each kind of
# client, and the 5xx answers nginx gave:
#
#   steady         nothing happens;
#   rolling        a rolling restart of both nodes, the way deploy/nginx.conf
#                  describes it (down, reload, SIGTERM, start, up);
#   kill           one node killed with SIGKILL, started again after a while;
#   replica        the replica stopped (fast shutdown) and started again;
#   schedule       50 stories scheduled for the same minute, published by
#                  whichever node's scheduler comes first.
#
# Before the load it checks that the nodes behave as one site: a session
# opened on one node works on the other, a captcha issued by one is taken by
# the other and never twice, and login failures on both count together.
#
# Settings: CLUSTER_DIR (target/cluster; wiped at every run), CLUSTER_PORT
# (18200: ports from there up), CLUSTER_SECONDS (20: seconds of load around
# each phase's events), CLUSTER_READERS (32 connections).
set -euo pipefail
cd "$(dirname "$0")/.."

STORIES=${1:-10000}
WORK=${CLUSTER_DIR:-target/cluster}
[[ $WORK == /* ]] || WORK=$PWD/$WORK
PORT=${CLUSTER_PORT:-18200}
HOLD=${CLUSTER_SECONDS:-20}
READERS=${CLUSTER_READERS:-32}
PG_PRIMARY=$((PORT + 1))
PG_REPLICA=$((PORT + 2))
LB=$((PORT + 20))
BASE="http://127.0.0.1:$LB"
ANSWER=BENCH
BIN=$PWD/target/release/newsdesk
SHARED=$WORK/shared
PRIMARY_URL="postgres://newsdesk@127.0.0.1:$PG_PRIMARY/newsdesk"
REPLICA_URL="postgres://newsdesk@127.0.0.1:$PG_REPLICA/newsdesk"

if ! command -v wrk >/dev/null || ! command -v psql >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk postgresql-client nginx-light >/dev/null
fi
PG_CTL=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
if [ -z "$PG_CTL" ]; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  PG_CTL=$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)
fi
PGBIN=$(dirname "$PG_CTL")
cargo build --release --quiet

as_pg() { runuser -u postgres -- "$@"; }
pg_running() { [ -e "$WORK/pg/$1/postmaster.pid" ]; }

declare -A NODE_PID=()

cleanup() {
  set +e
  for n in "${!NODE_PID[@]}"; do
    kill -TERM "${NODE_PID[$n]}" 2>/dev/null && wait "${NODE_PID[$n]}" 2>/dev/null
  done
  [ -e "$WORK/nginx/nginx.pid" ] && nginx -c "$WORK/nginx/nginx.conf" -s stop 2>/dev/null
  for db in replica primary; do
    pg_running $db && as_pg "$PG_CTL" -D "$WORK/pg/$db" -m fast -w stop >/dev/null
  done
}
trap cleanup EXIT

# A fresh folder: a cluster left running by an interrupted run is stopped.
for db in replica primary; do
  if pg_running $db; then as_pg "$PG_CTL" -D "$WORK/pg/$db" -m immediate -w stop >/dev/null || true; fi
done
rm -rf "$WORK"
mkdir -p "$WORK/pg" "$SHARED" "$WORK/nginx/temp" "$WORK/load"
chown postgres "$WORK/pg"

echo "== PostgreSQL: a primary on $PG_PRIMARY, a streaming replica on $PG_REPLICA"
as_pg "$PGBIN/initdb" -D "$WORK/pg/primary" -U newsdesk --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$WORK/pg/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY
unix_socket_directories = '$WORK/pg'
max_connections = 400
shared_buffers = 512MB
wal_level = replica
max_wal_senders = 10
wal_keep_size = 1GB
max_wal_size = 4GB
CONF
as_pg "$PG_CTL" -D "$WORK/pg/primary" -l "$WORK/pg/primary.log" -w start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PRIMARY" -U newsdesk newsdesk

echo "== $STORIES stories"
export NEWSDESK_DATA_DIR=$SHARED NEWSDESK_DEMO=false NEWSDESK_LOG=warn
DATABASE_URL=$PRIMARY_URL "$BIN" generate --articles "$STORIES" --comments $((STORIES * 2)) >/dev/null
for i in 1 2 3 4; do
  echo "Editor-password-$i" | DATABASE_URL=$PRIMARY_URL "$BIN" create-user \
    --username "cluster-editor-$i" --role editor --display-name "集群编辑$i" >/dev/null
done
echo "Target-password-1" | DATABASE_URL=$PRIMARY_URL "$BIN" create-user \
  --username cluster-target --role editor --display-name 锁定测试 >/dev/null

as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY" -U newsdesk -D "$WORK/pg/replica" -R -X stream -c fast
echo "port = $PG_REPLICA" >>"$WORK/pg/replica/postgresql.conf"
as_pg "$PG_CTL" -D "$WORK/pg/replica" -l "$WORK/pg/replica.log" -w start >/dev/null

psql_primary() { psql -qAtX "$PRIMARY_URL" "$@"; }

node_port() { echo $((PORT + 10 + $1)); }

wait_healthy() { # port
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  return 1
}

node_start() { # n
  local port
  port=$(node_port "$1")
  NEWSDESK_BIND="127.0.0.1:$port" DATABASE_URL=$PRIMARY_URL NEWSDESK_REPLICA_URLS=$REPLICA_URL \
    NEWSDESK_TRUSTED_PROXIES=127.0.0.1 NEWSDESK_TEST_CAPTCHA=$ANSWER \
    "$BIN" serve >>"$WORK/node$1.log" 2>&1 &
  NODE_PID[$1]=$!
  wait_healthy "$port"
}

node_stop() { # n [signal]
  kill -"${2:-TERM}" "${NODE_PID[$1]}"
  wait "${NODE_PID[$1]}" 2>/dev/null || true
  unset "NODE_PID[$1]"
}

echo "== two nodes on $(node_port 1) and $(node_port 2)"
node_start 1
node_start 2

echo "== nginx on $LB, from deploy/nginx.conf"
sed -e "s|server node1:8080|server 127.0.0.1:$(node_port 1)|" \
  -e "s|server node2:8080|server 127.0.0.1:$(node_port 2)|" \
  -e "s|listen 80;|listen 127.0.0.1:$LB reuseport;|" \
  -e "s|/var/lib/newsdesk|$SHARED|g" \
  -e "s|/etc/nginx/newsdesk-proxy.conf|$WORK/nginx/newsdesk-proxy.conf|" \
  deploy/nginx.conf >"$WORK/nginx/site.conf"
cp deploy/newsdesk-proxy.conf "$WORK/nginx/newsdesk-proxy.conf"
cat >"$WORK/nginx/nginx.conf" <<NGINX
user root;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  include /etc/nginx/mime.types;
  log_format phases '\$status \$request_method \$upstream_status';
  access_log $WORK/nginx/access.log phases;
  client_body_temp_path $WORK/nginx/temp/body;
  proxy_temp_path $WORK/nginx/temp/proxy;
  fastcgi_temp_path $WORK/nginx/temp/fastcgi;
  uwsgi_temp_path $WORK/nginx/temp/uwsgi;
  scgi_temp_path $WORK/nginx/temp/scgi;
  include $WORK/nginx/site.conf;
}
NGINX
nginx -c "$WORK/nginx/nginx.conf"
wait_healthy "$LB"

reload_nginx() {
  nginx -c "$WORK/nginx/nginx.conf" -s reload
  sleep 1
}
drain() { # n: no new requests for node n
  sed -i "s|server 127.0.0.1:$(node_port "$1") max_fails|server 127.0.0.1:$(node_port "$1") down max_fails|" "$WORK/nginx/site.conf"
  reload_nginx
}
undrain() { # n
  sed -i "s|server 127.0.0.1:$(node_port "$1") down max_fails|server 127.0.0.1:$(node_port "$1") max_fails|" "$WORK/nginx/site.conf"
  reload_nginx
}

cookies() { # a curl cookie jar as a Cookie header
  sed 's/^#HttpOnly_//' "$1" | awk '!/^#/ && NF == 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }'
}
form_token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }

login() { # base user password jar [client]: prints the status of the login's answer
  local token
  token=$(curl -fs -c "$4" -b "$4" "$1/admin/login" | form_token)
  curl -s -o /dev/null -w '%{http_code}' -c "$4" -b "$4" -H "Origin: $1" -H "X-Forwarded-For: ${5:-10.9.9.9}" \
    --data-urlencode "csrf_token=$token" --data-urlencode "username=$2" \
    --data-urlencode "password=$3" "$1/admin/login"
}

echo "== one site across nodes"
NODE1="http://127.0.0.1:$(node_port 1)"
NODE2="http://127.0.0.1:$(node_port 2)"
CHECKS=0
check() { # description, then a command that succeeds when it holds
  local what=$1
  shift
  if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; CHECKS=$((CHECKS + 1)); fi
}

jar=$WORK/load/session.jar
login "$NODE1" cluster-editor-1 Editor-password-1 "$jar" >/dev/null
session_on_other_node() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$NODE2/admin/articles")" = 200 ]
}
check "a session opened on node 1 is signed in on node 2" session_on_other_node

reader=$WORK/load/reader.jar
curl -fs -c "$reader" -b "$reader" "$NODE1/articles/1" >/dev/null
csrf=$(curl -fs -c "$reader" -b "$reader" "$NODE1/articles/1" | form_token)
post_comment() { # base captcha-id: prints the status
  curl -s -o /dev/null -w '%{http_code}' -b "$reader" -H "Origin: $1" -H "X-Forwarded-For: 10.8.$((RANDOM % 250)).$((RANDOM % 250 + 1))" \
    --data-urlencode "csrf_token=$csrf" --data-urlencode "captcha_id=$2" --data-urlencode "captcha_answer=$ANSWER" \
    --data-urlencode "anonymous=on" --data-urlencode "body=跨节点评论 $RANDOM" "$1/articles/2/comments"
}
captcha=$(curl -fs "$NODE1/captcha/new" | sed 's/.*"id":"\([^"]*\)".*/\1/')
first=$(post_comment "$NODE2" "$captcha")
again=$(post_comment "$NODE1" "$captcha")
check "a captcha issued by node 1 is taken by node 2 ($first)" [ "$first" = 303 ]
check "and refused when replayed on node 1 ($again)" [ "$again" -ge 400 ]

for i in 1 2 3 4 5 6; do
  if [ $((i % 2)) = 1 ]; then base=$NODE1; else base=$NODE2; fi
  login "$base" cluster-target wrong-password-$i "$WORK/load/target.jar" "10.7.0.$i" >/dev/null
done
captcha_asked() { # base: the login form asks this account for a captcha
  local token
  token=$(curl -fs -c "$WORK/load/target.jar" -b "$WORK/load/target.jar" "$1/admin/login" | form_token)
  curl -s -b "$WORK/load/target.jar" -H "Origin: $1" -H "X-Forwarded-For: 10.9.9.9" \
    --data-urlencode "csrf_token=$token" --data-urlencode "username=cluster-target" \
    --data-urlencode "password=wrong-again" "$1/admin/login" | grep -q 'name="captcha_id"'
}
check "six failures from six addresses, three on each node, count together: node 1 asks for a captcha" captcha_asked "$NODE1"
check "and so does node 2" captcha_asked "$NODE2"

# The readers' paths: stories at random, the home page, channels, searches.
# The newest 50 stories are left to the schedule phase (a scheduled story
# is not public until its time: a 404 by design).
PUBLIC=$((STORIES - 50))
paths=$WORK/load/paths
{
  shuf -r -n 3000 -i "1-$PUBLIC" | sed 's|^|/articles/|'
  for _ in $(seq 1 200); do echo "/"; done
  psql_primary -c "select '/channels/' || slug from channels"
  for word in 电网 安全 调度 检修 新能源 供电 会议 改革 技术 服务; do
    echo "/search?q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$word")"
  done
} >"$paths"
sessions=$WORK/load/sessions
: >"$sessions"
for i in 1 2 3 4; do
  status=$(login "$BASE" "cluster-editor-$i" "Editor-password-$i" "$WORK/load/editor-$i.jar")
  check "editor $i signs in through nginx ($status)" [ "$status" = 303 ]
  printf '/admin/articles\t%s\n' "$(cookies "$WORK/load/editor-$i.jar")" >>"$sessions"
done
comment_csrf=$(curl -fs -c "$reader" -b "$reader" "$BASE/articles/1" | form_token)

LOAD=()
load_start() { # a phase's load, running until load_stop
  local ids=$WORK/load/captchas
  : >"$ids"
  wrk -t2 -c8 -d3s -s bench/captchas.lua "$BASE/captcha/new" -- "$ids" >/dev/null
  : >"$WORK/nginx/access.log"
  nginx -c "$WORK/nginx/nginx.conf" -s reopen
  wrk -t2 -c"$READERS" -d600s --timeout 10s -s bench/paths.lua "$BASE/" -- "$paths" >"$WORK/load/readers" 2>&1 &
  LOAD=($!)
  wrk -t2 -c4 -d600s --timeout 10s -s bench/comments.lua "$BASE/" -- \
    "$ids" "$comment_csrf" "$(cookies "$reader")" "$PUBLIC" "$ANSWER" >"$WORK/load/commenters" 2>&1 &
  LOAD+=($!)
  wrk -t2 -c4 -d600s --timeout 10s -s bench/sessions.lua "$BASE/" -- "$sessions" >"$WORK/load/editors" 2>&1 &
  LOAD+=($!)
  sleep 2
}

RESULTS=()
load_stop() { # phase name
  kill -INT "${LOAD[@]}"
  wait "${LOAD[@]}" 2>/dev/null || true
  local row="$1" who requests answers refused dropped closed=0
  for who in readers commenters editors; do
    # wrk's own summary: answers of 400 or more, and socket errors.
    requests=$(awk '/requests in/ { print $1 }' "$WORK/load/$who")
    answers=$(awk '/Non-2xx or 3xx/ { print $NF }' "$WORK/load/$who")
    refused=$(awk -F'[ ,]+' '/Socket errors/ { print $5 + $11 }' "$WORK/load/$who")
    dropped=$(awk -F'[ ,]+' '/Socket errors/ { print $7 + $9 }' "$WORK/load/$who")
    closed=$((closed + ${dropped:-0}))
    row+=" $((${answers:-0} + ${refused:-0}))/${requests:-0}"
  done
  row+=" $closed"
  local line signed_out=0
  while IFS=$'\t' read -r _ line; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $line" "$BASE/admin/articles")" = 200 ] ||
      signed_out=$((signed_out + 1))
  done <"$sessions"
  check "after '$1', every editor is still signed in ($signed_out signed out)" [ "$signed_out" = 0 ]
  sleep 1
  row+=$(awk '$1 >= 500 { failed++ } $3 ~ /,/ { retried++ } END { printf " %d %d", failed, retried }' "$WORK/nginx/access.log")
  RESULTS+=("$row")
  echo "  $row"
}

echo "== load: $READERS readers, 4 commenters, 4 editors, through nginx"

echo "-- steady"
load_start
sleep "$HOLD"
load_stop steady

echo "-- rolling restart"
load_start
for n in 1 2; do
  drain $n
  node_stop $n TERM
  node_start $n
  undrain $n
  sleep 2
done
sleep "$HOLD"
load_stop rolling

echo "-- one node killed"
load_start
sleep 3
node_stop 2 KILL
sleep 5
node_start 2
sleep "$HOLD"
load_stop kill

echo "-- replica stopped"
load_start
sleep 3
as_pg "$PG_CTL" -D "$WORK/pg/replica" -m fast -w stop >/dev/null
sleep 3
left_out=$(curl -fs "$NODE1/metrics" | grep '^newsdesk_replica_healthy' || true)
echo "  node 1 while the replica is stopped: $left_out"
sleep 5
as_pg "$PG_CTL" -D "$WORK/pg/replica" -l "$WORK/pg/replica.log" -w start >/dev/null
sleep 5
taken_back=$(curl -fs "$NODE1/metrics" | grep '^newsdesk_replica_healthy' || true)
echo "  node 1 after it is started again: $taken_back"
sleep "$HOLD"
load_stop replica

echo "-- 50 stories scheduled for the same minute"
load_start
scheduled=$(psql_primary -c "
  with chosen as (
    select id from articles where status = 'published' order by number desc limit 50
  )
  update articles set status = 'scheduled', published_at = now() + interval '20 seconds'
  where id in (select id from chosen) returning id" | paste -sd, | sed "s/[^,]*/'&'/g")
sleep 40
published=$(psql_primary -c "select count(*) from articles where id in ($scheduled) and status = 'published'")
events=$(psql_primary -c "select count(*) from review_events where action = 'publish_due' and article_id in ($scheduled)")
twice=$(psql_primary -c "select count(*) from (select article_id from review_events where action = 'publish_due'
  and article_id in ($scheduled) group by article_id having count(*) > 1) twice")
load_stop schedule
echo "  50 scheduled: $published published, $events publications recorded, $twice published twice"

echo
echo "$STORIES stories. Per kind of client: failed requests (answers of 400 or more,"
echo "refused connections, timeouts) / requests. 'closed': idle keep-alive connections"
echo "nginx closed under the client as it reloaded (a browser sends the request again"
echo "on a new connection; wrk counts it). nginx's own 5xx answers, and requests it"
echo "retried on the other node."
echo
printf '| %-9s | %-13s | %-11s | %-11s | %6s | %5s | %7s |\n' phase readers commenters editors closed 5xx retried
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ----------- --------------- ------------- ------------- -------- ------- ---------
for row in "${RESULTS[@]}"; do
  # shellcheck disable=SC2086
  printf '| %-9s | %-13s | %-11s | %-11s | %6s | %5s | %7s |\n' $row
done
echo
echo "Scheduled: 50 stories, $published published, $events publications, $twice twice."
echo "Cross-node checks failed: $CHECKS."
