#!/usr/bin/env bash
# Batched (100 per POST, 4 clients) then single (16 clients) ingest on PostgreSQL, each binary on
# a new database. usage: postgres-ingest.sh URL ATTEST_BINARY...   (URL of the server, without a
# database, e.g. postgres://postgres@127.0.0.1:54370; env R: attest-bench's directory)
set -u
R=${R:-target/release}
U=$1; shift
for round in 1 2; do
  for BIN in "$@"; do
    db=bench_$(date +%s%N)
    psql "$U/postgres" -qc "CREATE DATABASE $db"
    D=$(mktemp -d /tmp/attest-pg.XXXX)
    ATTEST_BOOTSTRAP_KEY=bench ATTEST_BOOTSTRAP_SECRET=bench "$BIN" serve --database "$U/$db" --data "$D" --listen 127.0.0.1:8261 >"$D/serve.log" 2>&1 &
    SP=$!
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8261/xapi/about && break; sleep 0.1; done
    "$R"/attest-bench --url http://127.0.0.1:8261/xapi ingest --count 30000 --batch 100 --concurrency 4 --offset $(( round * 200000 )) 2>&1 | grep -oE '[0-9.]+ statements/s' | sed "s|^|$BIN round $round batched: |"
    "$R"/attest-bench --url http://127.0.0.1:8261/xapi ingest --count 10000 --batch 1 --concurrency 16 --offset $(( round * 200000 + 50000 )) 2>&1 | grep -oE '[0-9.]+ statements/s' | sed "s|^|$BIN round $round single: |"
    kill $SP; wait $SP 2>/dev/null; rm -rf "$D"
    psql "$U/postgres" -qc "DROP DATABASE $db"
  done
done
