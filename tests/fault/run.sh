#!/usr/bin/env bash
# The fault suite: proves that no click answered 302 and no postback answered created is lost or doubled
# while PostgreSQL is down, Redis restarts (gracefully and kill -9), the server dies between a flush
# commit and its acknowledgement or is killed -9, and two instances share the work. See tests/fault/README.md.
#
#   tests/fault/run.sh           full variant (about 8 minutes)
#   tests/fault/run.sh --short   short variant for CI (about 3 minutes)
#
# Starts its OWN Redis (127.0.0.1:16479, AOF, appendfsync everysec, data in .data/fault/redis) and its OWN
# PostgreSQL (127.0.0.1:16432, cluster in .data/fault/pg, database affiliatetracker_fault made anew), so it
# can stop and kill them without touching the shared services on 16379 / 15432. Servers on 5101 / 5102.
# Everything it starts it stops, by process id, on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/fault"
SHORT=0
case "${1:-}" in --short) SHORT=1 ;; "") ;; *) echo "usage: $0 [--short]" >&2; exit 2 ;; esac

if [ "$SHORT" = 1 ]; then
  BEFORE=4; AFTER=4; PG_OUTAGE=15; REDIS_DOWN=5; TWO_LOAD=8; PREMADE=40
else
  BEFORE=15; AFTER=15; PG_OUTAGE=60; REDIS_DOWN=15; TWO_LOAD=30; PREMADE=100
fi
# Modest load on a shared 2-core machine: a few hundred requests a second at most.
CLICK_RATE="${CLICK_RATE:-150}"; POSTBACK_RATE="${POSTBACK_RATE:-40}"

REDIS_PORT=16479; PG_PORT=16432; DB=affiliatetracker_fault; PORT_A=5101; PORT_B=5102
. "$ROOT/deploy/pg-data-dir.sh"
DATA="$ROOT/.data/fault"; RUN="$DATA/run-$([ "$SHORT" = 1 ] && echo short || echo full)"; PGDATA="$(pg_data_dir "$DATA/pg")"
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
  mkdir -p "$DATA/redis"
  # The same settings as deploy/services.sh: AOF on, fsync every second, no RDB snapshots, lazy expiry.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" \
    --appendonly yes --appendfsync everysec --save "" --lazyfree-lazy-expire yes \
    --daemonize yes --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log"
  for _ in $(seq 1 100); do "${REDIS[@]}" ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
  log "redis did not start; see $DATA/redis/redis.log"; exit 1
}
redis_pid() { cat "$DATA/redis/redis.pid" 2>/dev/null || true; }
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
driver_start() { # bases...
  local args=()
  for b in "$@"; do args+=(--base "$b"); done
  python3 "$HERE/driver.py" load "${args[@]}" --link "$CODE" --clicks "$RUN/premade.txt" --prefix "$PREFIX" \
    --out "$RUN/$PREFIX.json" --click-rate "$CLICK_RATE" --postback-rate "$POSTBACK_RATE" &
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
  for name in "${!SERVER_PID[@]}"; do stop_server "$name"; done
  local rp; rp="$(redis_pid)"
  if [ -n "$rp" ] && kill -0 "$rp" 2>/dev/null; then kill "$rp"; redis_wait_gone "$rp"; fi
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

group_field() { # stream field: a field of the flushers group (XINFO GROUPS: pending, lag, ...)
  "${REDIS[@]}" XINFO GROUPS "$1" 2>/dev/null | awk -v f="$2" 'prev == f {print; exit} {prev = $0}'
}
STREAMS=('at:{clicks:0}:stream' 'at:{cv:0}:stream')

# Waits until every instance's local buffer is empty, every click and conversion stream entry has been
# delivered to a flusher (group lag 0) and acknowledged (nothing pending), and the row counts stop moving.
# Bounded; what is not drained by then shows as lost.
drain() { # ports...
  local start; start=$(date +%s)
  local last="" now
  while [ $(( $(date +%s) - start )) -lt 180 ]; do
    local busy=0 p b s
    for p in "$@"; do b=$(metric "$p" at_clicks_buffered); [ "${b:-0}" = 0 ] || busy=1; done
    for s in "${STREAMS[@]}"; do
      [ "$(group_field "$s" pending)" = 0 ] && [ "$(group_field "$s" lag)" = 0 ] || busy=1
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
reconcile() { # restarted(0/1) [clicks the server wrote straight to PostgreSQL at shutdown]
  local ledger=0
  dotnet "$DLL" ledger-check > "$RUN/$PREFIX.ledger" 2>&1 || ledger=$?
  local extra=(--spilled "${2:-0}" --leftover "$(leftover)"); [ "$1" = 1 ] && extra+=(--restarted)
  python3 "$HERE/reconcile.py" --name "$PREFIX" --run "$RUN/$PREFIX.json" --retry "$RUN/$PREFIX.retry.json" \
    --events "$RUN/$PREFIX.events" --psql "$PG dbname=$DB" --prefix "$PREFIX" --link-id "$LINK_ID" \
    --publisher-id "$PUBLISHER_ID" --ledger "$ledger" --table "$RUN/table.tsv" "${extra[@]}" | tee -a "$RUN/report.txt" \
    || VIOLATIONS=$((VIOLATIONS + 1))
}

retry_postbacks() { # port: an advertiser re-sends what got 503 or no answer
  python3 "$HERE/driver.py" retry --base "http://127.0.0.1:$1" --run "$RUN/$PREFIX.json" --out "$RUN/$PREFIX.retry.json"
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
for tool in redis-server redis-cli psql curl python3 dotnet; do command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }; done
for port in $REDIS_PORT $PG_PORT $PORT_A $PORT_B; do
  if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is in use (a previous run still going?)"; exit 1; fi
done
rm -rf "$RUN" "$DATA/redis"; mkdir -p "$RUN"
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

# ---------- 1. PostgreSQL down ----------
begin pg-outage
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
mark fault_start; log "stopping PostgreSQL (immediate) for $PG_OUTAGE s"
pg_stop immediate
sleep $((PG_OUTAGE / 2)); snapshot "$PORT_A" "mid-outage"; sleep $((PG_OUTAGE - PG_OUTAGE / 2))
snapshot "$PORT_A" "end-of-outage"
pg_start; mark fault_end; log "PostgreSQL is back"
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"; reconcile 0

# ---------- 2a. Redis restarted gracefully ----------
begin redis-restart
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
rp="$(redis_pid)"; mark fault_start; log "redis SHUTDOWN (AOF fsynced) for $REDIS_DOWN s"
"${REDIS[@]}" shutdown >/dev/null 2>&1 || true
redis_wait_gone "$rp"
sleep $((REDIS_DOWN / 2)); snapshot "$PORT_A" "redis down"; sleep $((REDIS_DOWN - REDIS_DOWN / 2))
redis_start; mark fault_end; log "redis is back"
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"; reconcile 0

# ---------- 2b. Redis killed -9 ----------
begin redis-kill9
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
# aof_delayed_fsync > 0 would mean Redis once answered writes it had not yet handed to the kernel (a busy disk).
"${REDIS[@]}" INFO persistence | tr -d '\r' | grep -E '^(aof_enabled|aof_last_write_status|aof_delayed_fsync)' \
  | sed 's/^/before kill -9: /' >> "$RUN/$PREFIX.snapshots" || true
rp="$(redis_pid)"; mark fault_start; log "redis kill -9 (pid $rp), down for $REDIS_DOWN s"
kill -9 "$rp"; redis_wait_gone "$rp"
sleep $((REDIS_DOWN / 2)); snapshot "$PORT_A" "redis killed"; sleep $((REDIS_DOWN - REDIS_DOWN / 2))
redis_start; mark fault_end; log "redis is back (AOF replayed)"
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"; reconcile 0

# ---------- 3a/3b. the server dies between a flush commit and its acknowledgement ----------
for stream in clicks conversions; do
  stop_server A
  start_server A "$PORT_A" "Faults__CrashAfterFlushCommit=$stream"
  begin "crash-after-commit-$stream"
  driver_start "http://127.0.0.1:$PORT_A"
  mark fault_start
  wait_exit A 60; rc=$EXIT_RC
  [ "$rc" = alive ] && { log "the server did not crash at its first $stream flush"; exit 1; }
  sleep 0.5
  skey='at:{clicks:0}:stream'; [ "$stream" = conversions ] && skey='at:{cv:0}:stream'
  pending=$("${REDIS[@]}" XPENDING "$skey" flushers | head -n 1)
  log "server died (exit $rc) after committing a $stream batch: $pending entries committed but not acknowledged"
  echo "FailFast exit $rc; $pending $stream entries pending (committed, not acknowledged) at the crash" >> "$RUN/$PREFIX.snapshots"
  grep -h -o 'Faults:CrashAfterFlushCommit[^"]*' "${SERVER_LOG[A]}" | head -n 1 >> "$RUN/$PREFIX.snapshots" || true
  start_server A "$PORT_A"; mark fault_end
  sleep "$AFTER"
  driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"
  grep -h -o 'Took over [0-9]* unacknowledged entries of [^"]*' "${SERVER_LOG[A]}" | sed 's/^/restarted server: /' >> "$RUN/$PREFIX.snapshots" || true
  reconcile 1
done

# ---------- 3c. the server killed -9 mid-load ----------
begin server-kill9
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
mark fault_start; log "kill -9 server A (pid ${SERVER_PID[A]})"
kill -9 "${SERVER_PID[A]}"; reap_server A
start_server A "$PORT_A"; mark fault_end
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"
grep -h -o 'Took over [0-9]* unacknowledged entries of [^"]*' "${SERVER_LOG[A]}" | sed 's/^/restarted server: /' >> "$RUN/$PREFIX.snapshots" || true
reconcile 1

# ---------- 3d. the server restarted gracefully (SIGTERM) mid-load, as a deploy does ----------
begin server-sigterm
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
mark fault_start; log "SIGTERM server A (pid ${SERVER_PID[A]}) and start it again"
stop_server A; log "server A stopped (exit $SERVER_RC)"
start_server A "$PORT_A"; mark fault_end
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"; reconcile 1

# ---------- 3e. the server stopped gracefully while Redis is down (clicks held in its buffer) ----------
begin sigterm-while-redis-down
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
rp="$(redis_pid)"; mark fault_start; log "redis SHUTDOWN, then SIGTERM server A while clicks wait in its buffer"
"${REDIS[@]}" shutdown >/dev/null 2>&1 || true
redis_wait_gone "$rp"
sleep 3; snapshot "$PORT_A" "redis down, before SIGTERM"
stop_server A; log "server A stopped (exit $SERVER_RC)"
grep -h -o '"Message":"[^"]*\(clicks\|Clicks\)[^"]*"' "${SERVER_LOG[A]}" | tail -n 3 >> "$RUN/$PREFIX.snapshots" || true
spilled=$(grep -h -o 'at shutdown: [0-9]* buffered clicks written to PostgreSQL' "${SERVER_LOG[A]}" | grep -o '[0-9]*' | awk '{s += $1} END {print s + 0}' || true)
log "the stopping server wrote ${spilled:-0} buffered clicks straight to PostgreSQL"
redis_start; start_server A "$PORT_A"; mark fault_end
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A"; reconcile 1 "${spilled:-0}"

# ---------- 4. two instances, one consumer group ----------
begin two-instances
start_server B "$PORT_B"   # after the link exists, so B starts with it loaded
driver_start "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B"
sleep "$TWO_LOAD"
driver_stop; retry_postbacks "$PORT_A"; drain "$PORT_A" "$PORT_B"; reconcile 0
stop_server B

# ---------- the table ----------
echo
echo "fault suite ($([ "$SHORT" = 1 ] && echo short || echo full) variant), $(( $(date +%s) - STARTED )) s; details in $RUN/report.txt"
{
  printf 'fault\tsent clicks+postbacks\t302s\tcreated\tduplicate\t503\tno answer read (clicks+postbacks)\tclick rows\tconversion rows\tlost\tdoubled\tledger\tverdict\n'
  cat "$RUN/table.tsv"
} | column -t -s $'\t' | tee "$RUN/table.txt"
echo
for f in "$RUN"/*.snapshots; do echo "== $(basename "$f" .snapshots)"; cat "$f"; done > "$RUN/snapshots.txt" 2>/dev/null || true
if [ "$VIOLATIONS" -gt 0 ]; then echo "FAILED: $VIOLATIONS scenarios with violations (see above)"; exit 1; fi
echo "all scenarios: lost 0, doubled 0, ledger ok"
