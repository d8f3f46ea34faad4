#!/usr/bin/env bash
# Runs every fuzz target (or those named) for RUNS executions each (default
# 10 million), starting from the committed seeds in fuzz/seeds/TARGET and
# the corpus grown by earlier runs in fuzz/corpus/TARGET (not committed).
# Needs cargo-fuzz and the nightly toolchain:
#   cargo install cargo-fuzz && rustup toolchain install nightly
# A crash stops the run; libFuzzer leaves the input in fuzz/artifacts/TARGET,
# which becomes a regression test once fixed.
#
#   fuzz/run.sh                      # all targets, 10 million runs each
#   RUNS=100000 fuzz/run.sh char_diff
#   MAX_LEN=65536 fuzz/run.sh sanitize_body   # longer inputs (default 1024 bytes)
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-10000000}
# Longest input tried, in bytes (a page of article text).
MAX_LEN=${MAX_LEN:-1024}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build --sanitizer none
# The built targets are run directly, so that a change to the sources while
# they run does not rebuild them half-way through the list.
bin_dir=target/x86_64-unknown-linux-gnu/release

mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "== $target: $RUNS runs"
  started=$(date +%s)
  status=0
  "$bin_dir/$target" "corpus/$target" "seeds/$target" -artifact_prefix="artifacts/$target/" \
    -runs="$RUNS" -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "logs/$target.log" 2>&1 || status=$?
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "logs/$target.log" || true
  echo "== $target: $(( $(date +%s) - started )) s, exit $status"
  if [ "$status" -ne 0 ]; then
    tail -n 40 "logs/$target.log"
    echo "$target failed: the input is in fuzz/artifacts/$target" >&2
    exit "$status"
  fi
done
