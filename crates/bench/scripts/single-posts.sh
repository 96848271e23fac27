#!/usr/bin/env bash
# Single-statement POSTs from 16 clients against a fresh SQLite store, with the server's CPU per
# request and context switches (perf stat) and bytes written per request (/proc/PID/io).
# usage: single-posts.sh ATTEST_BINARY PORT LABEL   (env: N statements, default 30000; R = the
# directory of attest-bench, default target/release)
set -u
BIN=$1; PORT=$2; LABEL=$3; N=${N:-30000}; R=${R:-target/release}
D=$(mktemp -d /tmp/attest-single.XXXX)
ATTEST_BOOTSTRAP_KEY=bench ATTEST_BOOTSTRAP_SECRET=bench "$BIN" serve --data "$D" --listen 127.0.0.1:"$PORT" >"$D/serve.log" 2>&1 &
SP=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:"$PORT"/xapi/about && break; sleep 0.1; done
"$R"/attest-bench --url http://127.0.0.1:"$PORT"/xapi ingest --count 2000 --batch 1 --concurrency 16 --offset 900000 >/dev/null 2>&1
W0=$(awk '/^wchar/ {print $2}' /proc/$SP/io)
perf stat -e task-clock,context-switches -p $SP -o "$D/perf.txt" &
PP=$!
sleep 0.2
OUT=$("$R"/attest-bench --url http://127.0.0.1:"$PORT"/xapi ingest --count "$N" --batch 1 --concurrency 16 2>&1)
kill -INT $PP; wait $PP 2>/dev/null
W1=$(awk '/^wchar/ {print $2}' /proc/$SP/io)
rate=$(echo "$OUT" | grep -oE '[0-9.]+ statements/s' | head -1)
cpu=$(awk '/task-clock/ {gsub(",","",$1); print $1}' "$D/perf.txt")
cs=$(awk '/context-switches/ {gsub(",","",$1); print $1}' "$D/perf.txt")
echo "$LABEL $rate server_cpu_us/req=$(echo "$cpu*1000/$N" | bc) cs/req=$(echo "scale=1; $cs/$N" | bc) wbytes/req=$(( (W1-W0)/N ))"
kill $SP; wait $SP 2>/dev/null
rm -rf "$D"
