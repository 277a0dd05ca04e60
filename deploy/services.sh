#!/usr/bin/env bash
# Local Redis and PostgreSQL for AffiliateTracker, bound to 127.0.0.1, data under .data/ (git-ignored).
#   deploy/services.sh up      install (Debian/Ubuntu packages) if missing, start, reuse if running
#   deploy/services.sh down    stop both
#   deploy/services.sh status  say what runs
#   deploy/services.sh env [DB] print the connection settings (eval "$(deploy/services.sh env)")
#   deploy/services.sh cluster up|down|status|env   a local Redis Cluster instead (deploy/redis-cluster.sh)
#   deploy/services.sh replica up|down|status|env   a streaming replica of PostgreSQL for reads (deploy/pg-replica.sh)
# Settings (same names as deploy/docker-compose.yml): AT_REDIS_PORT, AT_PG_PORT, AT_PG_DB, AT_DATA_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${AT_DATA_DIR:-$ROOT/.data}"
REDIS_PORT="${AT_REDIS_PORT:-16379}"
PG_PORT="${AT_PG_PORT:-15432}"
PG_DB="${AT_PG_DB:-affiliatetracker}"
PG_USER=affiliatetracker

log() { echo "[services] $*" >&2; }
. "$ROOT/deploy/pg-data-dir.sh"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $* from the system packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_installed() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || apt_install redis-server
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || apt_install postgresql
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
}

# PostgreSQL refuses to run as root: as root we run it as the 'postgres' system user (created by the package).
PG_OS_USER=""
run_pg() {
  if [ -n "$PG_OS_USER" ]; then (cd / && runuser -u "$PG_OS_USER" -- "$@"); else "$@"; fi
}

redis_up() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    log "redis already running on 127.0.0.1:$REDIS_PORT"; return
  fi
  mkdir -p "$DATA/redis"
  # AOF on, fsync every second: an acknowledged click or postback survives a Redis restart. Expired keys
  # are freed by a background thread, so a large expiring hash never stalls the redirects. The AOF is
  # rewritten from 512 MB, not 64: under full load it grows 4-11 MB a second, and each rewrite forks Redis and
  # re-serializes the whole data set (benchmarks/README.md); a restart replays at most ~4 s of it.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" \
    --appendonly yes --appendfsync everysec --save "" --lazyfree-lazy-expire yes --auto-aof-rewrite-min-size 512mb \
    --daemonize yes --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && { log "redis started on 127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.1
  done
  log "redis did not start; see $DATA/redis/redis.log"; exit 1
}

pg_up() {
  local bin; bin="$(pg_bin)"
  mkdir -p "$DATA"
  local pgdata; pgdata="$(pg_data_dir "$DATA/postgres")"
  if [ "$(id -u)" = 0 ]; then PG_OS_USER=postgres; fi
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ -n "$PG_OS_USER" ] && chown "$PG_OS_USER" "$pgdata"
    chmod 700 "$pgdata"
    # Collation C: the same order as C.UTF-8 (code points), but PostgreSQL 15 compares with memcmp instead of
    # strcoll, 7-10% off inserting rows with three text indexes (benchmarks/README.md). Character classes stay UTF-8.
    run_pg "$bin/initdb" -D "$pgdata" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --lc-collate=C >/dev/null
    cat >> "$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pgdata'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
  fi
  if run_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    log "postgres already running on 127.0.0.1:$PG_PORT"
  else
    run_pg "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start >/dev/null
    log "postgres started on 127.0.0.1:$PG_PORT"
  fi
  for db in "$PG_DB" "${PG_DB}_test"; do
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "create database \"$db\"" >/dev/null
      log "created database $db"
    fi
  done
}

down() {
  # The replica and the cluster too, when they run: a test run stops everything it may have started.
  { bash "$ROOT/deploy/pg-replica.sh" down; bash "$ROOT/deploy/redis-cluster.sh" down; } 2>&1 | grep -v 'was not running' >&2 || true
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown 2>/dev/null && log "redis stopped" || log "redis was not running"
  local bin; bin="$(pg_bin)"
  if [ "$(id -u)" = 0 ]; then PG_OS_USER=postgres; fi
  local pgdata; pgdata="$(pg_data_dir "$DATA/postgres")"
  if [ -d "$pgdata" ] && run_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    run_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null && log "postgres stopped"
  else
    log "postgres was not running"
  fi
}

print_env() {
  local db="${1:-$PG_DB}"
  echo "export ConnectionStrings__Redis='127.0.0.1:$REDIS_PORT'"
  echo "export ConnectionStrings__Postgres='Host=127.0.0.1;Port=$PG_PORT;Username=$PG_USER;Database=$db;Maximum Pool Size=50'"
}

case "${1:-up}" in
  up) ensure_installed; redis_up; pg_up ;;
  down) down ;;
  status)
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && echo "redis: up (127.0.0.1:$REDIS_PORT)" || echo "redis: down"
    psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc 'select 1' >/dev/null 2>&1 && echo "postgres: up (127.0.0.1:$PG_PORT)" || echo "postgres: down"
    bash "$ROOT/deploy/pg-replica.sh" status; bash "$ROOT/deploy/redis-cluster.sh" status ;;
  env) print_env "${2:-}" ;;
  install) ensure_installed ;;
  cluster) ensure_installed; shift; exec bash "$ROOT/deploy/redis-cluster.sh" "${@:-up}" ;;
  replica) ensure_installed; shift; exec bash "$ROOT/deploy/pg-replica.sh" "${@:-up}" ;;
  *) echo "usage: $0 up|down|status|env|cluster|replica" >&2; exit 2 ;;
esac
