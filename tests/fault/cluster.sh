#!/usr/bin/env bash
# The fault suite on a Redis Cluster (three primaries, three replicas, cluster-node-timeout 1 s): a primary
# killed -9 while its replica lags and the replica promoted, with and without replica acknowledgement
# (Redis:ReplicaAcks), a primary's slots moved to another and back under load, and a replica restarted.
# See tests/fault/README.md.
#
#   tests/fault/cluster.sh           full variant
#   tests/fault/cluster.sh --short   short variant for CI
#
# Its own cluster on 127.0.0.1:17101-17106 (data in .data/fault/cluster/cluster), its own PostgreSQL on 16532,
# servers on 5111 / 5112, three click and three conversion stream shards (one per primary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/fault"
SHORT=0
case "${1:-}" in --short) SHORT=1 ;; "") ;; *) echo "usage: $0 [--short]" >&2; exit 2 ;; esac
if [ "$SHORT" = 1 ]; then BEFORE=4; AFTER=4; REDIS_DOWN=5; PREMADE=40; else BEFORE=15; AFTER=15; REDIS_DOWN=15; PREMADE=100; fi
LAG=2   # seconds a replica falls behind before its primary is killed
CLICK_RATE="${CLICK_RATE:-150}"; POSTBACK_RATE="${POSTBACK_RATE:-40}"

SUITE=cluster; REDIS_PORT=17101; PG_PORT=16532; DB=affiliatetracker_cluster; PORT_A=5111; PORT_B=5112; SHARDS=3
. "$HERE/lib.sh"

PORTS=$(seq "$REDIS_PORT" $((REDIS_PORT + 5)))
CLUSTER=(env AT_CLUSTER_PORT="$REDIS_PORT" AT_CLUSTER_DIR="$STORE/cluster" AT_CLUSTER_NODE_TIMEOUT=1000 bash "$ROOT/deploy/redis-cluster.sh")
ConnectionStrings__Redis=$("${CLUSTER[@]}" env | sed "s/^export ConnectionStrings__Redis='\(.*\)'$/\1/")
export ConnectionStrings__Redis
# Every server of this suite: a shard per primary, and acknowledgements that wait for a replica unless a
# scenario says otherwise.
export Clicks__StreamShards=$SHARDS Conversions__StreamShards=$SHARDS Redis__ReplicaAcks=1 Redis__ReplicaAckTimeout=00:00:00.500
redis_start() { "${CLUSTER[@]}" up; }
redis_stop_all() { "${CLUSTER[@]}" down 2>/dev/null || true; }

# redis-cli on a node that answers, following MOVED/ASK (-c): what lib.sh's drain and checks use.
live_node() {
  local p
  for p in $PORTS; do
    if redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null | grep -q PONG; then REDIS=(redis-cli -c -h 127.0.0.1 -p "$p"); return; fi
  done
  log "no cluster node answers"; exit 1
}
# The port of the primary serving a key's slot, as the live nodes see it (a failed primary does not count).
primary_of() { # key
  live_node
  local slot; slot=$("${REDIS[@]}" cluster keyslot "$1")
  "${REDIS[@]}" cluster nodes | awk -v slot="$slot" '$3 ~ /master/ && $3 !~ /fail/ {
    for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]; if (slot + 0 >= r[1] + 0 && slot + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2]; exit } } }'
}
replica_of() { # primary port
  local id; id=$(redis-cli -h 127.0.0.1 -p "$1" cluster myid)
  "${REDIS[@]}" cluster nodes | awk -v id="$id" '$4 == id && $3 !~ /fail/ { split($2, a, "[:@]"); print a[2]; exit }'
}
node_pid() { cat "$STORE/cluster/$1/redis.pid"; }
slots_of() { # port: how many slots the node serves
  "${REDIS[@]}" cluster nodes | awk -v p="127.0.0.1:$1@" 'index($2, p) == 1 { s = 0; for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; n = split($i, r, "-"); s += (n == 1 ? 1 : r[2] - r[1] + 1) } print s }'
}
topology() { live_node; "${REDIS[@]}" cluster nodes | awk '{ split($2, a, "@"); print "  " a[1], $3, ($4 == "-" ? "" : "of " $4), $9, $10 }' >> "$RUN/$PREFIX.snapshots"; }

# The postbacks' offer (demo offer 1) lives in conversion shard 1; its primary also serves one click shard.
CV_KEY='at:{cv:1}:stream'

for port in $PORTS; do
  if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is in use (a previous run still going?)"; exit 1; fi
done
# A node paused by kill_primary is resumed before the cluster is shut down, whatever stopped the run.
suite_cleanup() { local p; for p in $PORTS; do [ -s "$STORE/cluster/$p/redis.pid" ] && kill -CONT "$(cat "$STORE/cluster/$p/redis.pid")" 2>/dev/null; done; return 0; }
rm -rf "$STORE/cluster"
setup_suite

kill_primary() { # label: kill -9 the primary of the postbacks' shard, wait for its replica to take over, bring it back
  local primary pid start new=""
  primary=$(primary_of "$CV_KEY"); pid=$(node_pid "$primary")
  # A primary that just got its slots back may still be waiting for a replica to migrate to it.
  for _ in $(seq 1 100); do [ -n "$(replica_of "$primary")" ] && break; sleep 0.2; done
  [ -n "$(replica_of "$primary")" ] || { log ":$primary has no replica to take over"; exit 1; }
  echo "before:" >> "$RUN/$PREFIX.snapshots"; topology
  # Replication on loopback keeps up with the writes, and what a primary has sent sits in the kernel's socket
  # buffers, which a replica still reads after the primary died. The case that loses writes is a replica
  # behind by more than that (a slow link, a busy host): it is paused (SIGSTOP), 16 MB of other writes queue
  # ahead of the load's in the replication stream, and LAG seconds later the primary dies and the replica,
  # resumed, takes over without what the primary still held for it.
  local replica rpid; replica=$(replica_of "$primary"); rpid=$(node_pid "$replica")
  mark fault_start; log "replica :$replica paused and 16 MB behind; in $LAG s kill -9 the primary of $CV_KEY on :$primary (pid $pid)"
  kill -STOP "$rpid"
  head -c 16000000 /dev/zero | tr '\0' x | redis-cli -x -h 127.0.0.1 -p "$primary" SET 'at:{cv:1}:replication-filler' >/dev/null
  sleep "$LAG"
  kill -9 "$pid"; redis_wait_gone "$pid"; kill -CONT "$rpid"
  start=$(date +%s.%N)
  for _ in $(seq 1 200); do
    new=$(primary_of "$CV_KEY" 2>/dev/null || true); live_node
    [ -n "$new" ] && [ "$new" != "$primary" ] && "${REDIS[@]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
  [ -n "$new" ] && [ "$new" != "$primary" ] || { log "no replica took over from :$primary"; exit 1; }
  local took; took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  log "replica :$new promoted after $took s"
  echo "primary :$primary killed; replica :$new promoted after $took s" >> "$RUN/$PREFIX.snapshots"
  sleep "$REDIS_DOWN"; snapshot "$PORT_A" "$1: after the failover"
  redis_start; mark fault_end; log "the killed node is back (as a replica)"
  echo "after:" >> "$RUN/$PREFIX.snapshots"; topology
}

# ---------- 1. a replica restarted: acknowledgements wait, nothing is acknowledged unreplicated ----------
begin replica-restart
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
primary=$(primary_of "$CV_KEY"); replica=$(replica_of "$primary")
mark fault_start; log "SHUTDOWN the replica :$replica of :$primary for $REDIS_DOWN s (WAITs time out meanwhile)"
redis-cli -h 127.0.0.1 -p "$replica" shutdown >/dev/null 2>&1 || true
sleep $((REDIS_DOWN / 2)); snapshot "$PORT_A" "replica down"; sleep $((REDIS_DOWN - REDIS_DOWN / 2))
redis_start; mark fault_end; log "the replica is back"
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; live_node; drain "$PORT_A"; reconcile 0

# ---------- 2. every slot of a primary moved to another under load (MOVED / ASK) ----------
begin reshard
driver_start "http://127.0.0.1:$PORT_A"
sleep "$BEFORE"
from=$(primary_of "$CV_KEY"); to=$(primary_of 'at:{clicks:1}:stream')
[ "$from" != "$to" ] || to=$(primary_of 'at:{clicks:2}:stream')
n=$(slots_of "$from")
reshard() { # from-port to-port slots
  redis-cli --cluster reshard "127.0.0.1:$1" --cluster-from "$(redis-cli -p "$1" cluster myid)" --cluster-to "$(redis-cli -p "$2" cluster myid)" \
    --cluster-slots "$3" --cluster-yes >> "$RUN/$PREFIX.reshard.log" 2>&1 || { log "reshard failed; see $RUN/$PREFIX.reshard.log"; exit 1; }
  log "moved $3 slots from :$1 to :$2; :$1 serves $(slots_of "$1") slots, :$2 $(slots_of "$2")"
  echo "moved $3 slots from :$1 to :$2" >> "$RUN/$PREFIX.snapshots"; topology
}
# All but one of its slots (the streams' among them), then as many back: a primary left with no slot turns
# into a replica, and a cluster fails over only while a majority of the primaries serving slots agree.
mark fault_start; log "moving $((n - 1)) of the $n slots of :$from to :$to and as many back, under load"
reshard "$from" "$to" $((n - 1))
reshard "$to" "$from" $((n - 1))
mark fault_end
sleep "$AFTER"
driver_stop; retry_postbacks "$PORT_A"; live_node; drain "$PORT_A"; reconcile 0

# ---------- 3/4. a primary killed -9 while its replica lags, with and without replica acknowledgement ----------
# Server A only receives (flushers off), as receiving instances behind a load balancer do; flush instance B
# starts once the replica has taken over. Everything the load wrote meanwhile waits in Redis, so what the
# failover loses is not hidden by a flusher that happened to move it to PostgreSQL first.
for acks in 1 0; do
  stop_server A
  start_server A "$PORT_A" Redis__ReplicaAcks=$acks Clicks__FlusherEnabled=false Conversions__FlusherEnabled=false
  begin "primary-kill9-$([ "$acks" = 1 ] && echo acks || echo no-acks)"
  driver_start "http://127.0.0.1:$PORT_A"
  sleep "$BEFORE"
  kill_primary "$([ "$acks" = 1 ] && echo with || echo without) replica acks"
  start_server B "$PORT_B" Redis__ReplicaAcks=$acks
  sleep "$AFTER"
  driver_stop; retry_postbacks "$PORT_A"; live_node; drain "$PORT_A" "$PORT_B"
  [ "$acks" = 1 ] || { RECONCILE_EXTRA=(--loss-expected); LOSS_EXPECTED_IN="$PREFIX"; }
  reconcile 0; RECONCILE_EXTRA=()
  stop_server B
done

finish_suite "fault suite on a Redis Cluster"
