#!/usr/bin/env bash
# Compliance questions on a small plant, first on a quiet server, then while 16 clients POST single
# statements into the same store (a fresh store: SQLite, or with PG = a PostgreSQL server's URL
# without a database, a new database there).
# usage: compliance-under-writes.sh ATTEST_BINARY PORT LABEL   (env: R = the directory of
# attest-bench and attest-bench-compliance, default target/release; PEOPLE, default 500;
# REQUIREMENTS, default 10; ITERATIONS, default 300)
set -u
BIN=$1; PORT=$2; LABEL=$3; R=${R:-target/release}
PEOPLE=${PEOPLE:-500}; REQUIREMENTS=${REQUIREMENTS:-10}; ITERATIONS=${ITERATIONS:-300}
. "$(dirname "$0")/fresh-server.sh"
start_fresh_server "$BIN" "$PORT" cq
PLANT=(--url http://127.0.0.1:"$PORT" --people "$PEOPLE" --requirements "$REQUIREMENTS")
"$R"/attest-bench-compliance "${PLANT[@]}" load >/dev/null 2>&1
echo "$LABEL quiet:"
"$R"/attest-bench-compliance "${PLANT[@]}" measure --iterations "$ITERATIONS" 2>&1 | grep runs
"$R"/attest-bench --url http://127.0.0.1:"$PORT"/xapi ingest --count 200000 --batch 1 --concurrency 16 >"$D/ingest.txt" 2>&1 &
IP=$!
sleep 2
echo "$LABEL while 16 clients POST single statements:"
"$R"/attest-bench-compliance "${PLANT[@]}" measure --iterations "$ITERATIONS" 2>&1 | grep runs
kill $IP; wait $IP 2>/dev/null
stop_fresh_server
