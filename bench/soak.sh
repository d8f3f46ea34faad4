#!/usr/bin/env bash
# Soak: bench/soak.sh [STORIES]   (default 10000)
#
# Runs the release build on a generated newsroom (the data set of
# bench/run.sh under target/bench/STORIES, made if missing) and puts it
# under mixed load for SOAK_SECONDS (default 1800): six readers (article
# pages, 10% of them 繁體, home, channel pages, the feed), two searchers
# (twenty common words, one or two at a time, newest first or by
# relevance), one commenter (a fresh captcha and address each time) and two
# editorial desks (a correspondent writes and submits, an editor and a chief
# editor pass: published). It samples the server's memory every 10 s.
# Fails unless every request was answered without a 5xx or a broken
# connection and memory after the warm-up (the first fifth) grew by less
# than 10%.
set -euo pipefail
cd "$(dirname "$0")/.."

STORIES=${1:-10000}
SOAK_SECONDS=${SOAK_SECONDS:-1800}
DATA=${BENCH_DATA_DIR:-target/bench/$STORIES}
PORT=${BENCH_PORT:-18081}
BASE="http://127.0.0.1:$PORT"
ANSWER=SOAK
BIN=target/release/newsdesk
SERVER=""

cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" || true
  fi
}
trap cleanup EXIT

cargo build --release --quiet
export NEWSDESK_DATA_DIR="$DATA" NEWSDESK_DEMO=false NEWSDESK_LOG=warn
mkdir -p "$DATA"
if [ ! -e "$DATA/generated" ]; then
  "$BIN" generate --articles "$STORIES" --comments $((STORIES * 2))
  touch "$DATA/generated"
fi
passwords=()
for account in soak-writer:correspondent soak-editor:editor soak-chief:chief_editor; do
  name=${account%%:*}
  if [ ! -e "$DATA/$name-password" ]; then
    password="Soak-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "$password" | "$BIN" create-user --username "$name" --role "${account##*:}" --display-name "$name"
    echo "$password" >"$DATA/$name-password"
  fi
  passwords+=("$(cat "$DATA/$name-password")")
done

NEWSDESK_BIND="127.0.0.1:$PORT" NEWSDESK_TEST_CAPTCHA=$ANSWER NEWSDESK_TRUSTED_PROXIES=127.0.0.1 \
  "$BIN" serve >>"$DATA/soak-server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
highest=$(curl -fs "$BASE/feed.xml" | grep -o '/articles/[0-9]*' | sed 's#/articles/##' | sort -n | tail -1)

echo "soak: $SOAK_SECONDS s against $STORIES stories (highest story $highest), server pid $SERVER" >&2
python3 bench/soak.py "$BASE" "$SOAK_SECONDS" "$SERVER" "$ANSWER" "$highest" "${passwords[@]}" >"$DATA/soak.json"

python3 - "$DATA/soak.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
total = sum(kind["requests"] for kind in report["counts"].values())
errors = sum(kind["errors"] for kind in report["counts"].values())
print(f"{'kind':<10} {'requests':>10} {'errors':>7}  statuses")
for name, kind in sorted(report["counts"].items()):
    print(f"{name:<10} {kind['requests']:>10} {kind['errors']:>7}  {kind['statuses']}")
print(f"{'all':<10} {total:>10} {errors:>7}  ({total / report['seconds']:.0f} requests a second)")
samples = report["memory_mb"]
warm = [mb for at, mb in samples if at >= report["seconds"] / 5]
growth = (max(warm[-6:]) - warm[0]) / warm[0] * 100 if len(warm) > 6 else 0.0
print("memory (MB) after " + ", ".join(f"{at}s: {mb}" for at, mb in samples[:: max(1, len(samples) // 12)]))
print(f"memory after warm-up: {warm[0] if warm else 0} MB, at the end {warm[-1] if warm else 0} MB, growth {growth:.1f}%")
for line in report["errors"][:20]:
    print("error:", line)
sys.exit(1 if errors or growth >= 10 else 0)
PY
