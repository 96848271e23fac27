#!/usr/bin/env bash
# Single-statement POSTs from C clients (default 16) against a fresh store, with the server's CPU per request
# and context switches (perf stat) and bytes written per request (/proc/PID/io).
# usage: single-posts.sh ATTEST_BINARY PORT LABEL   (env: N statements, default 30000; R = the
# directory of attest-bench, default target/release; PG = a PostgreSQL server's URL without a
# database, e.g. postgres://postgres@127.0.0.1:54370, to run on a new database there instead of
# SQLite, adding the PostgreSQL backends' CPU per request; C = the number of clients, default 16)
set -u
BIN=$1; PORT=$2; LABEL=$3; N=${N:-30000}; R=${R:-target/release}; C=${C:-16}
. "$(dirname "$0")/fresh-server.sh"
start_fresh_server "$BIN" "$PORT" single
"$R"/attest-bench --url http://127.0.0.1:"$PORT"/xapi ingest --count 2000 --batch 1 --concurrency 16 --offset 900000 >/dev/null 2>&1
W0=$(awk '/^wchar/ {print $2}' /proc/$SP/io)
perf stat -e task-clock,context-switches -p $SP -o "$D/perf.txt" &
PP=$!
# The PostgreSQL processes' CPU time so far, in clock ticks (utime + stime).
pg_cpu() { [ -n "${PG:-}" ] && cat $(pgrep -d ' ' -x postgres | sed 's|[0-9]*|/proc/&/stat|g') 2>/dev/null | awk '{s+=$14+$15} END {print s}' || echo 0; }
C0=$(pg_cpu)
sleep 0.2
OUT=$("$R"/attest-bench --url http://127.0.0.1:"$PORT"/xapi ingest --count "$N" --batch 1 --concurrency "$C" 2>&1)
kill -INT $PP; wait $PP 2>/dev/null
C1=$(pg_cpu)
W1=$(awk '/^wchar/ {print $2}' /proc/$SP/io)
rate=$(echo "$OUT" | grep -oE '[0-9.]+ statements/s' | head -1)
p50=$(echo "$OUT" | grep -oE 'p50 [0-9.]+ ms' | head -1)
cpu=$(awk '/task-clock/ {gsub(",","",$1); print $1}' "$D/perf.txt")
cs=$(awk '/context-switches/ {gsub(",","",$1); print $1}' "$D/perf.txt")
extra=""
[ -n "${PG:-}" ] && extra=" postgres_cpu_us/req=$(( (C1-C0)*1000000/$(getconf CLK_TCK)/N ))"
echo "$LABEL c=$C $rate $p50 server_cpu_us/req=$(echo "$cpu*1000/$N" | bc) cs/req=$(echo "scale=1; $cs/$N" | bc) wbytes/req=$(( (W1-W0)/N ))$extra"
stop_fresh_server
