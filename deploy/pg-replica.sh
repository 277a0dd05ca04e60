#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL (deploy/services.sh) for reports and console reads, made with
# pg_basebackup and kept read-only (hot standby). Called as
#   deploy/services.sh replica up|down|status|env [DB]
# Settings: AT_PG_PORT (the primary, default 15432), AT_PG_REPLICA_PORT (default 15433), AT_DATA_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${AT_DATA_DIR:-$ROOT/.data}"
PRIMARY_PORT="${AT_PG_PORT:-15432}"
PORT="${AT_PG_REPLICA_PORT:-15433}"
PG_USER=affiliatetracker
. "$ROOT/deploy/pg-data-dir.sh"
REPLICA="$(pg_data_dir "$DATA/postgres-replica")"

log() { echo "[replica] $*" >&2; }
pg_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
BIN="$(pg_bin || true)"
run_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
running() { run_pg "$BIN/pg_ctl" -D "$REPLICA" status >/dev/null 2>&1; }

SLOT=affiliatetracker_replica
psql_primary() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U "$PG_USER" -d postgres -tAXqc "$1"; }
streaming() { psql -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -d postgres -tAXqc "select status from pg_stat_wal_receiver" 2>/dev/null | grep -q streaming; }

make_replica() {
  rm -rf "$REPLICA"; mkdir -p "$REPLICA"; chmod 700 "$REPLICA"
  [ "$(id -u)" = 0 ] && chown postgres "$REPLICA"
  psql_primary "select pg_drop_replication_slot('$SLOT') from pg_replication_slots where slot_name = '$SLOT'" >/dev/null
  # A copy of the primary as it is now, with standby.signal and primary_conninfo written (-R), streaming the WAL
  # it needs meanwhile (-X stream), through a replication slot (-C -S) so the primary keeps the WAL the replica
  # has not received while it is stopped. initdb's pg_hba already trusts replication connections from 127.0.0.1.
  run_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U "$PG_USER" -D "$REPLICA" -R -X stream -C -S "$SLOT" -c fast \
    2> >(grep -v 'skipping special file' >&2)
  # The copied postgresql.conf is the primary's: later lines win, so these give the replica its own port and socket.
  run_pg tee -a "$REPLICA/postgresql.conf" >/dev/null <<CONF
port = $PORT
unix_socket_directories = '$REPLICA'
hot_standby = on
# Reports may run long: let a query finish rather than cancel it when replay conflicts with it (up to 30 s).
max_standby_streaming_delay = 30s
hot_standby_feedback = on
CONF
  log "made a base backup of 127.0.0.1:$PRIMARY_PORT in $REPLICA"
}

up() {
  if ! psql_primary 'select 1' >/dev/null 2>&1; then
    log "the primary on 127.0.0.1:$PRIMARY_PORT is not running (deploy/services.sh up)"; exit 1
  fi
  if running && streaming; then log "replica already running on 127.0.0.1:$PORT"; return; fi
  # The slot keeps WAL for a stopped replica, but not without bound: past this much, the replica is made anew.
  if [ "$(psql_primary "show max_slot_wal_keep_size")" = "-1" ]; then
    psql_primary "alter system set max_slot_wal_keep_size = '4GB'" >/dev/null; psql_primary "select pg_reload_conf()" >/dev/null
  fi
  running && run_pg "$BIN/pg_ctl" -D "$REPLICA" -m fast -w stop >/dev/null
  [ -s "$REPLICA/PG_VERSION" ] || make_replica
  for attempt in 1 2; do
    run_pg "$BIN/pg_ctl" -D "$REPLICA" -l "$REPLICA/server.log" -w -t 60 start >/dev/null
    for _ in $(seq 1 50); do streaming && { log "replica streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$PORT (read-only)"; return; }; sleep 0.2; done
    # Behind by WAL the primary no longer has (a replica made before slots, or stopped past the bound): make it anew.
    run_pg "$BIN/pg_ctl" -D "$REPLICA" -m fast -w stop >/dev/null
    [ "$attempt" = 1 ] && { log "the replica cannot catch up with the primary; making it anew"; make_replica; }
  done
  log "the replica does not stream; see $REPLICA/server.log"; exit 1
}

down() {
  if [ -d "$REPLICA" ] && running; then run_pg "$BIN/pg_ctl" -D "$REPLICA" -m fast -w stop >/dev/null && log "replica stopped"
  else log "replica was not running"; fi
}

status() {
  if running; then
    echo "postgres replica: up (127.0.0.1:$PORT, $(psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U "$PG_USER" -d postgres -tAc \
      "select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1) from pg_stat_replication") bytes behind)"
  else echo "postgres replica: down"; fi
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export ConnectionStrings__PostgresReadOnly='Host=127.0.0.1;Port=$PORT;Username=$PG_USER;Database=${2:-${AT_PG_DB:-affiliatetracker}};Maximum Pool Size=20'" ;;
  *) echo "usage: deploy/services.sh replica up|down|status|env [DB]" >&2; exit 2 ;;
esac
