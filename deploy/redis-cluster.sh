#!/usr/bin/env bash
# A local Redis Cluster: six redis-server processes on 127.0.0.1 in cluster mode, three primaries and three
# replicas, AOF on (fsync every second), made with `redis-cli --cluster create`. Called as
#   deploy/services.sh cluster up|down|status|env
# Settings: AT_CLUSTER_PORT (first port, default 17001; nodes use it and the next five, their cluster bus
# ports are 10000 higher), AT_CLUSTER_DIR (data, default .data/cluster), AT_CLUSTER_NODE_TIMEOUT (ms a
# primary may be silent before its replica takes over, default 5000; the fault suite uses 1000).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIRST="${AT_CLUSTER_PORT:-17001}"
DIR="${AT_CLUSTER_DIR:-$ROOT/.data/cluster}"
NODE_TIMEOUT="${AT_CLUSTER_NODE_TIMEOUT:-5000}"
PORTS=$(seq "$FIRST" $((FIRST + 5)))

log() { echo "[cluster] $*" >&2; }
ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }
state_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }

start_node() {
  local port=$1
  ping "$port" && return
  mkdir -p "$DIR/$port"
  # The same durability as the single Redis (deploy/services.sh): AOF, fsync every second, lazy expiry,
  # AOF rewrites from 512 MB. A replica that lost its primary takes over after cluster-node-timeout;
  # replicas stay readable.
  redis-server --bind 127.0.0.1 --port "$port" --dir "$DIR/$port" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$NODE_TIMEOUT" \
    --appendonly yes --appendfsync everysec --save "" --lazyfree-lazy-expire yes --auto-aof-rewrite-min-size 512mb \
    --daemonize yes --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log"
}

up() {
  for p in $PORTS; do start_node "$p"; done
  for p in $PORTS; do
    for _ in $(seq 1 50); do ping "$p" && break; sleep 0.1; done
    ping "$p" || { log "node $p did not start; see $DIR/$p/redis.log"; exit 1; }
  done
  # A node that knows only itself has never been part of a cluster: make one. Nodes started again on their
  # nodes.conf find each other without help.
  if [ "$(redis-cli -h 127.0.0.1 -p "$FIRST" cluster info | grep -o 'cluster_known_nodes:[0-9]*' | cut -d: -f2)" = 1 ]; then
    local nodes=""; for p in $PORTS; do nodes="$nodes 127.0.0.1:$p"; done
    # shellcheck disable=SC2086
    redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
      || { log "cluster create failed; see $DIR/create.log"; exit 1; }
  fi
  for _ in $(seq 1 100); do
    # Ready when every node sees the whole cluster and three replicas are in sync with their primaries.
    local ok=1 synced=0; for p in $PORTS; do state_ok "$p" || ok=0; done
    for p in $PORTS; do redis-cli -h 127.0.0.1 -p "$p" info replication 2>/dev/null | grep -q 'master_link_status:up' && synced=$((synced + 1)); done
    if [ "$ok" = 1 ] && [ "$synced" -ge 3 ]; then log "redis cluster up on 127.0.0.1:$FIRST-$((FIRST + 5)) (3 primaries, 3 replicas)"; return; fi
    sleep 0.2
  done
  log "the cluster did not reach state ok; see $DIR/*/redis.log"; exit 1
}

down() {
  local any=0
  for p in $PORTS; do
    if ping "$p"; then redis-cli -h 127.0.0.1 -p "$p" shutdown >/dev/null 2>&1 || true; any=1; fi
  done
  [ "$any" = 1 ] && log "redis cluster stopped" || log "redis cluster was not running"
}

status() {
  local up=0; for p in $PORTS; do ping "$p" && up=$((up + 1)); done
  if [ "$up" = 6 ] && state_ok "$FIRST"; then echo "redis cluster: up (127.0.0.1:$FIRST-$((FIRST + 5)))"; else echo "redis cluster: down ($up of 6 nodes answer)"; fi
}

# Every node as a seed: the client finds the slot map from whichever answers.
print_env() {
  local seeds=""; for p in $PORTS; do seeds="$seeds${seeds:+,}127.0.0.1:$p"; done
  echo "export ConnectionStrings__Redis='$seeds'"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: deploy/services.sh cluster up|down|status|env" >&2; exit 2 ;;
esac
