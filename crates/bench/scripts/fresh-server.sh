# Sourced by the bench scripts: a server on a fresh store, and its end.
#   start_fresh_server BIN PORT NAME   sets D (its data directory) and SP (its pid); with PG set
#                                      (a PostgreSQL server's URL without a database) the store
#                                      is a new database there, else SQLite in D
#   stop_fresh_server                  stops it and removes its store
start_fresh_server() {
  D=$(mktemp -d "/tmp/attest-$3.XXXX")
  local database=()
  FRESH_DB=""
  if [ -n "${PG:-}" ]; then
    FRESH_DB=$3_$(date +%s%N)
    psql "$PG/postgres" -qc "CREATE DATABASE $FRESH_DB"
    database=(--database "$PG/$FRESH_DB")
  fi
  ATTEST_BOOTSTRAP_KEY=bench ATTEST_BOOTSTRAP_SECRET=bench "$1" serve --data "$D" "${database[@]}" --listen 127.0.0.1:"$2" >"$D/serve.log" 2>&1 &
  SP=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:"$2"/xapi/about && break; sleep 0.1; done
}

stop_fresh_server() {
  kill "$SP"; wait "$SP" 2>/dev/null
  rm -rf "$D"
  if [ -n "$FRESH_DB" ]; then psql "$PG/postgres" -qc "DROP DATABASE $FRESH_DB"; fi
}
