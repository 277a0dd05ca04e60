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

SUITE=run; REDIS_PORT=16479; PG_PORT=16432; DB=affiliatetracker_fault; PORT_A=5101; PORT_B=5102
. "$HERE/lib.sh"
setup_suite


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

finish_suite "fault suite"
