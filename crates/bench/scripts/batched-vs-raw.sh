#!/usr/bin/env bash
# Batched ingest (100 per POST, 4 clients) against the raw SQLite reference, in one run, for
# each binary given. usage: batched-vs-raw.sh ATTEST_BINARY... (env R: attest-bench's directory)
set -u
R=${R:-target/release}
for round in 1 2; do
  off=$(( (round - 1) * 100000 ))
  raw=$(mktemp -u /tmp/attest-raw.XXXX.db)
  "$R"/attest-bench raw-sqlite --count 50000 --batch 100 --offset $off --path "$raw" 2>&1 | grep -oE '[0-9.]+ statements/s' | head -1 | sed "s/^/raw round $round: /"
  rm -f "$raw"*
  for BIN in "$@"; do
    D=$(mktemp -d /tmp/attest-batched.XXXX)
    ATTEST_BOOTSTRAP_KEY=bench ATTEST_BOOTSTRAP_SECRET=bench "$BIN" serve --data "$D" --listen 127.0.0.1:8260 >"$D/serve.log" 2>&1 &
    SP=$!
    for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8260/xapi/about && break; sleep 0.1; done
    "$R"/attest-bench --url http://127.0.0.1:8260/xapi ingest --count 50000 --batch 100 --concurrency 4 --offset $off 2>&1 | grep -oE '[0-9.]+ statements/s' | sed "s|^|$BIN round $round: |"
    kill $SP; wait $SP 2>/dev/null; rm -rf "$D"
  done
done
