# Sourced by the fault suites (run.sh, cluster.sh, balancer.sh): their own PostgreSQL and Redis, servers,
# the load driver, draining and reconciliation. The caller sets ROOT, HERE, SHORT, SUITE (the run directory's
# name), REDIS_PORT, PG_PORT, DB, PORT_A, PORT_B and the timings, and may redefine redis_start / redis_stop_all
# (a cluster) before calling setup_suite, and define suite_cleanup (what it started itself, stopped on exit).
. "$ROOT/deploy/pg-data-dir.sh"
DATA="$ROOT/.data/fault"; RUN="$DATA/$SUITE-$([ "$SHORT" = 1 ] && echo short || echo full)"
# Each suite keeps its stores apart (run.sh where it always did), so suites can be developed side by side.
STORE="$DATA"; [ "$SUITE" = run ] || STORE="$DATA/$SUITE"
PGDATA="$(pg_data_dir "$STORE/pg")"
DLL="$ROOT/src/AffiliateTracker/bin/Release/net10.0/AffiliateTracker.dll"
PG="host=127.0.0.1 port=$PG_PORT user=affiliatetracker"
REDIS=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
export ConnectionStrings__Redis="127.0.0.1:$REDIS_PORT"
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=affiliatetracker;Database=$DB;Maximum Pool Size=50"
MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
STARTED=$(date +%s)

log() { printf '[fault %s] %s\n' "$(date +%T)" "$*" >&2; }
q() { psql "$PG dbname=$DB" -tAXqc "$1"; }

# ---------- own PostgreSQL and Redis ----------
pg_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
PGBIN="$(pg_bin)"
# PostgreSQL refuses to run as root: as root it runs as the 'postgres' system user (as deploy/services.sh does).
run_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_init() {
  [ -s "$PGDATA/PG_VERSION" ] && return
  mkdir -p "$PGDATA"; chmod 700 "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
  run_pg "$PGBIN/initdb" -D "$PGDATA" -U affiliatetracker --auth=trust --encoding=UTF8 --locale=C.UTF-8 --lc-collate=C >/dev/null
  cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA'
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
CONF
}
pg_start() { run_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 120 start >/dev/null; }
# mode: fast (clean stop) or immediate (like a crash: in-flight commits may be acknowledged or not; WAL recovery on start)
pg_stop() { run_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m "$1" -w -t 60 stop >/dev/null; }
pg_running() { run_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

redis_start() {
  mkdir -p "$STORE/redis"
  # The same settings as deploy/services.sh: AOF on, fsync every second, no RDB snapshots, lazy expiry,
  # AOF rewrites from 512 MB.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STORE/redis" \
    --appendonly yes --appendfsync everysec --save "" --lazyfree-lazy-expire yes --auto-aof-rewrite-min-size 512mb \
    --daemonize yes --pidfile "$STORE/redis/redis.pid" --logfile "$STORE/redis/redis.log"
  for _ in $(seq 1 100); do "${REDIS[@]}" ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
  log "redis did not start; see $STORE/redis/redis.log"; exit 1
}
redis_pid() { cat "$STORE/redis/redis.pid" 2>/dev/null || true; }
redis_stop_all() { local rp; rp="$(redis_pid)"; if [ -n "$rp" ] && kill -0 "$rp" 2>/dev/null; then kill "$rp"; redis_wait_gone "$rp"; fi; }
redis_wait_gone() { # pid
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  log "redis $1 did not stop"; exit 1
}

# ---------- servers ----------
# SERVER_PID: the server process (what faults kill). SERVER_JOB: the shell job around it (what we wait for;
# it exits normally with the server's status, so bash prints no "Aborted" job notice when FailFast aborts).
declare -A SERVER_PID=() SERVER_JOB=() SERVER_LOG=()
SERVER_SEQ=0
start_server() { # name port [VAR=value ...]
  local name="$1" port="$2"; shift 2
  SERVER_SEQ=$((SERVER_SEQ + 1))
  local logf="$RUN/server-$name-$SERVER_SEQ.log" pidf="$RUN/server-$name-$SERVER_SEQ.pid"
  (
    export Demo__Enabled=true PublicBaseUrl="http://127.0.0.1:$port" Secrets__MasterKey="$MASTER_KEY"
    # The load comes from one address; the per-address limits would measure the limiter, not the faults.
    export RateLimits__PostbackPerIpPerSecond=0 RateLimits__ManagementPerKeyPerMinute=0 RateLimits__ManagementPerIpPerMinute=0
    # Take over a dead flusher's entries after 5 s instead of 30 s, so a run is minutes, not tens of minutes.
    export Clicks__ReclaimAfter=00:00:05 Conversions__ReclaimAfter=00:00:05
    # The publisher postback outbox is filled (and checked: one queued postback per conversion event) but not
    # delivered: failing deliveries would pause the publisher and stop the queueing the suite counts.
    export PublisherPostbacks__Enabled=false
    for kv in "$@"; do export "$kv"; done
    ulimit -c 0   # FailFast aborts: no core files
    dotnet "$DLL" --urls "http://127.0.0.1:$port" &
    echo $! > "$pidf"
    wait $!
  ) > "$logf" 2>&1 &
  SERVER_JOB[$name]=$!; SERVER_LOG[$name]=$logf
  for _ in $(seq 1 50); do [ -s "$pidf" ] && break; sleep 0.1; done
  SERVER_PID[$name]=$(cat "$pidf")
  for _ in $(seq 1 240); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && { log "server $name up on :$port (pid ${SERVER_PID[$name]})"; return; }
    kill -0 "${SERVER_PID[$name]}" 2>/dev/null || break
    sleep 0.25
  done
  log "server $name did not start; see $logf"; tail -n 20 "$logf" >&2; exit 1
}
reap_server() { # name: after the server process ended; SERVER_RC = its exit status
  SERVER_RC=0; wait "${SERVER_JOB[$1]}" || SERVER_RC=$?
  unset "SERVER_PID[$1]" "SERVER_JOB[$1]"
}
stop_server() { # name: SIGTERM (graceful: buffered clicks are written, the batch in flight is finished)
  local pid="${SERVER_PID[$1]:-}"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  reap_server "$1"
}
metric() { # port series: the value, or empty
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '{ sub(/\{\} /, " ") } index($0, m" ") == 1 {print $2}' | tail -n 1
}

# ---------- driver ----------
DRIVER_PID=""
DRIVER_EXTRA=()   # more driver.py flags for load and retry (balancer.sh: --via-balancer, --metrics per instance)
driver_start() { # bases...
  local args=()
  for b in "$@"; do args+=(--base "$b"); done
  python3 "$HERE/driver.py" load "${args[@]}" --link "$CODE" --clicks "$RUN/premade.txt" --prefix "$PREFIX" \
    --out "$RUN/$PREFIX.json" --click-rate "$CLICK_RATE" --postback-rate "$POSTBACK_RATE" "${DRIVER_EXTRA[@]}" &
  DRIVER_PID=$!
}
driver_stop() {
  kill -TERM "$DRIVER_PID" 2>/dev/null || true
  wait "$DRIVER_PID" || { log "driver failed"; exit 1; }
  DRIVER_PID=""
}
mark() { echo "$1 $(date +%s.%N)" >> "$RUN/$PREFIX.events"; }

cleanup() {
  local rc=$?
  [ -n "$DRIVER_PID" ] && kill "$DRIVER_PID" 2>/dev/null && wait "$DRIVER_PID" 2>/dev/null
  # What a suite started beyond lib.sh's processes (balancer.sh: HAProxy) stops first.
  if declare -F suite_cleanup >/dev/null; then suite_cleanup || true; fi
  for name in "${!SERVER_PID[@]}"; do stop_server "$name"; done
  redis_stop_all
  if [ -s "$PGDATA/PG_VERSION" ] && pg_running; then pg_stop fast; fi
  exit "$rc"
}
trap cleanup EXIT

# ---------- scenario helpers ----------
api() { curl -sf -H "Authorization: Bearer demo-admin-key" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

# A fresh publisher with access to the demo sneakers offer and a link, so the scenario's rows are its alone.
CODE=""; LINK_ID=""; PUBLISHER_ID=""; PREFIX=""
new_link() { # port name
  local publisher link
  publisher=$(api -X POST "http://127.0.0.1:$1/api/v1/publishers" -d "{\"name\":\"fault $2 $(date +%s%N)\"}" | json "['id']")
  api -X PUT "http://127.0.0.1:$1/api/v1/offers/$OFFER/publishers/$publisher" -d '{}' >/dev/null
  link=$(api -X POST "http://127.0.0.1:$1/api/v1/links" -d "{\"offer_id\":$OFFER,\"publisher_id\":$publisher}")
  CODE=$(echo "$link" | json "['code']"); LINK_ID=$(echo "$link" | json "['id']"); PUBLISHER_ID=$publisher
}

begin() { # name (also the txid prefix)
  PREFIX="$1"; : > "$RUN/$PREFIX.events"
  new_link "$PORT_A" "$PREFIX"
  echo; log "=== $PREFIX (link $CODE)"
}

group_field() { # stream field: a field of the flushers group (XINFO GROUPS: pending, last-delivered-id, ...)
  "${REDIS[@]}" XINFO GROUPS "$1" 2>/dev/null | awk -v f="$2" 'prev == f {print; exit} {prev = $0}'
}
# Everything was delivered once the group's last-delivered-id is the stream's last id. (Not the group's "lag":
# Redis 7.0 miscounts it for a stream moved to another node by a reshard, and leaves it so.)
stream_field() { # stream field: a field of XINFO STREAM (last-generated-id, length, ...)
  "${REDIS[@]}" XINFO STREAM "$1" 2>/dev/null | awk -v f="$2" 'prev == f {print; exit} {prev = $0}'
}
# Every click and conversion stream shard (SHARDS of each; servers get Clicks__StreamShards / Conversions__StreamShards).
SHARDS="${SHARDS:-1}"; STREAMS=()
for ((s = 0; s < SHARDS; s++)); do STREAMS+=("at:{clicks:$s}:stream" "at:{cv:$s}:stream"); done

# Waits until every instance's local buffer is empty, every click and conversion stream entry has been
# delivered to a flusher (the group's last-delivered-id is the stream's last id) and acknowledged (nothing pending), and the row counts stop moving.
# Bounded; what is not drained by then shows as lost.
drain() { # ports...
  local start; start=$(date +%s)
  local last="" now
  while [ $(( $(date +%s) - start )) -lt 180 ]; do
    local busy=0 p b s
    for p in "$@"; do b=$(metric "$p" at_clicks_buffered); [ "${b:-0}" = 0 ] || busy=1; done
    for s in "${STREAMS[@]}"; do
      [ "$(group_field "$s" pending)" = 0 ] && [ "$(group_field "$s" last-delivered-id)" = "$(stream_field "$s" last-generated-id)" ] || busy=1
    done
    now="$(q "SELECT count(*) FROM clicks WHERE link_id = $LINK_ID")/$(q "SELECT count(*) FROM conversions WHERE txid LIKE '$PREFIX-%'")"
    if [ "$busy" = 0 ] && [ "$now" = "$last" ]; then log "drained in $(( $(date +%s) - start )) s (click/conversion rows $now)"; return; fi
    last="$now"; sleep 1
  done
  log "NOT drained after 180 s (click/conversion rows $now)"
}

# Entries still in a stream once everything is delivered and acknowledged were acknowledged but never
# deleted: no flusher is ever given them again, and /health would report them as a backlog forever.
leftover() {
  local n=0 s
  for s in "${STREAMS[@]}"; do n=$(( n + $("${REDIS[@]}" XLEN "$s") )); done
  echo "$n"
}

VIOLATIONS=0
RECONCILE_EXTRA=()   # more reconcile.py flags for the next scenario (e.g. --loss-expected)
reconcile() { # restarted(0/1) [clicks the server wrote straight to PostgreSQL at shutdown]
  local ledger=0
  dotnet "$DLL" ledger-check > "$RUN/$PREFIX.ledger" 2>&1 || ledger=$?
  local extra=(--spilled "${2:-0}" --leftover "$(leftover)" "${RECONCILE_EXTRA[@]}"); [ "$1" = 1 ] && extra+=(--restarted)
  python3 "$HERE/reconcile.py" --name "$PREFIX" --run "$RUN/$PREFIX.json" --retry "$RUN/$PREFIX.retry.json" \
    --events "$RUN/$PREFIX.events" --psql "$PG dbname=$DB" --prefix "$PREFIX" --link-id "$LINK_ID" \
    --publisher-id "$PUBLISHER_ID" --ledger "$ledger" --table "$RUN/table.tsv" "${extra[@]}" | tee -a "$RUN/report.txt" \
    || VIOLATIONS=$((VIOLATIONS + 1))
}

retry_postbacks() { # port: an advertiser re-sends what got 503 or no answer
  python3 "$HERE/driver.py" retry --base "http://127.0.0.1:$1" --run "$RUN/$PREFIX.json" --out "$RUN/$PREFIX.retry.json" "${DRIVER_EXTRA[@]}"
}

snapshot() { # port label: what /metrics and /health said at this moment, kept for the report
  { echo "# $PREFIX $2 $(date +%T)"; curl -s "http://127.0.0.1:$1/health"; echo
    curl -s "http://127.0.0.1:$1/metrics" | grep -E '^at_(clicks_buffered|flush_failures|store_errors|flush_lag|postbacks_total\{[^}]*via="postback")'
  } >> "$RUN/$PREFIX.snapshots" 2>&1 || true
}

EXIT_RC=""
wait_exit() { # name seconds: waits for the server process to end by itself; EXIT_RC = its exit status or "alive"
  local pid="${SERVER_PID[$1]}"
  for _ in $(seq 1 $(($2 * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then EXIT_RC=alive; return; fi
  reap_server "$1"; EXIT_RC=$SERVER_RC
}

# ---------- setup ----------
setup_suite() {
  for tool in redis-server redis-cli psql curl python3 dotnet; do command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }; done
  for port in $REDIS_PORT $PG_PORT $PORT_A $PORT_B; do
    if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is in use (a previous run still going?)"; exit 1; fi
  done
  rm -rf "$RUN" "$STORE/redis"; mkdir -p "$RUN"
  : > "$RUN/table.tsv"; : > "$RUN/report.txt"
  log "own PostgreSQL on :$PG_PORT ($PGDATA), own Redis on :$REDIS_PORT"
  pg_init; pg_start; redis_start
  psql "$PG dbname=postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
  log "building the server (Release)"
  dotnet build "$ROOT/src/AffiliateTracker" -c Release -v q -nologo >/dev/null
  start_server A "$PORT_A"
  OFFER=$(api "http://127.0.0.1:$PORT_A/api/v1/offers" | json "[0]['id']")
  # Clicks the postbacks convert on: made before any fault, on a link of their own.
  new_link "$PORT_A" premade
  api -X PATCH "http://127.0.0.1:$PORT_A/api/v1/publishers/$PUBLISHER_ID" \
    -d '{"postback_url":"https://publisher.example/pb?click={click_id}&txid={txid}&status={status}"}' >/dev/null
  python3 "$HERE/driver.py" clicks --base "http://127.0.0.1:$PORT_A" --link "$CODE" --n "$PREMADE" > "$RUN/premade.txt"
  log "made $PREMADE clicks for the postbacks"
}

# ---------- the table ----------
finish_suite() { # title
  echo
  echo "$1 ($([ "$SHORT" = 1 ] && echo short || echo full) variant), $(( $(date +%s) - STARTED )) s; details in $RUN/report.txt"
  {
    printf 'fault\tsent clicks+postbacks\t302s\tcreated\tduplicate\t503\tno answer read (clicks+postbacks)\tclick rows\tconversion rows\tlost\tdoubled\tledger\tverdict\n'
    cat "$RUN/table.tsv"
  } | column -t -s $'\t' | tee "$RUN/table.txt"
  echo
  for f in "$RUN"/*.snapshots; do echo "== $(basename "$f" .snapshots)"; cat "$f"; done > "$RUN/snapshots.txt" 2>/dev/null || true
  if [ "$VIOLATIONS" -gt 0 ]; then echo "FAILED: $VIOLATIONS scenarios with violations (see above)"; exit 1; fi
  if [ -n "${LOSS_EXPECTED_IN:-}" ]; then
    echo "all scenarios: doubled 0, ledger ok; lost 0 except where no promise is made (${LOSS_EXPECTED_IN}: no replica acknowledgement, the loss shown above)"
  else
    echo "all scenarios: lost 0, doubled 0, ledger ok"
  fi
}
