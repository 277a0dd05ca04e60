#!/usr/bin/env bash
# The load harness: the tracker against the fastest redirect this machine can serve, in one run.
#
#   benchmarks/load/harness.sh [clicks|smart|postbacks|mixed|all]      (default: all)
#
# Starts Redis and PostgreSQL (deploy/services.sh; Redis with AOF, fsync every second), builds and starts
# the tracker in Release on 127.0.0.1:5090 against its own database (affiliatetracker_load, made anew)
# and Redis database 5 (emptied), starts an nginx on 127.0.0.1:5099 that answers `return 302` with a
# Set-Cookie (the reference), and drives both with wrk with the same threads, connections and duration,
# alternating runs. Reports requests/s and latency p50/p99/p99.9 for each, the tracker/nginx ratio, the
# tracker's CPU and memory, how far behind its flushers were as each run ended, and then checks the count:
# every click the tracker answered with a 302 (its own counter, /metrics) is exactly one row in PostgreSQL
# once the flusher drains; every postback answered "created" is exactly one conversion row. Everything it
# starts it stops, by process id.
#
# `smart` runs the clicks workload on a plain link and then on a smart link (three rules; the third, weighted
# between the two demo offers, takes wrk's traffic), each against nginx in the same run.
#
# REDIS_CLUSTER=1 runs the tracker against the local Redis Cluster (deploy/services.sh cluster: three primaries,
# three replicas, AOF everysec) with three click and three conversion stream shards; add
# SERVER_ENV="Redis__ReplicaAcks=1" to make every group commit and postback batch wait for a replica.
#
# Settings: DURATION (s, 10), CONNS (64), THREADS (2), ROUNDS (alternations, 2), SERVER_ENV (extra
# environment for the tracker, e.g. "DOTNET_gcServer=0"), TRACKER_DLL (another build to measure, e.g. the
# commit before a change, built with `git worktree add /tmp/before HEAD~1 && dotnet build -c Release
# /tmp/before/src/AffiliateTracker`; default: this tree's Release build, built first), FLUSHERS:
#   inline    (default) one tracker process takes the traffic and flushes to PostgreSQL, on the same cores:
#             the whole system on one box, the sustained rate of a single-machine install.
#   deferred  the tracker that takes the traffic runs with its flushers off (Clicks__FlusherEnabled=false,
#             Conversions__FlusherEnabled=false), as a receiving instance does when flush instances run on
#             other machines; after each workload's runs a flush-only instance (127.0.0.1:5091) drains Redis
#             to PostgreSQL, the count check runs as usual, and the drain rate (rows/s) is reported. This
#             measures the receiving tier. Redis's own part of flushing (stream reads, acknowledgements, the
#             unique-visitor script) happens during the drain, not during the runs, so the runs leave it out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/benchmarks/load"
MODE="${1:-all}"
DURATION="${DURATION:-10}"; CONNS="${CONNS:-64}"; THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"
PORT=5090; NGINX_PORT=5099; DRAIN_PORT=5091; REDIS_DB=5; DB=affiliatetracker_load
FLUSHERS="${FLUSHERS:-inline}"
case "$FLUSHERS" in inline|deferred) ;; *) echo "FLUSHERS must be inline or deferred" >&2; exit 2 ;; esac
BASE="http://127.0.0.1:$PORT"
WORK="$ROOT/.data/load"; mkdir -p "$WORK"
export HARNESS_DIR="$HERE"

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "installing $tool"; apt-get install -y -qq "$([ "$tool" = nginx ] && echo nginx-light || echo "$tool")" >/dev/null; }
done

"$ROOT/deploy/services.sh" up
eval "$("$ROOT/deploy/services.sh" env "$DB")"
PG="host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker"
REDIS=(redis-cli -h 127.0.0.1 -p "${AT_REDIS_PORT:-16379}" -n "$REDIS_DB")
psql "$PG dbname=postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
REDIS_CONNECTION="$ConnectionStrings__Redis,defaultDatabase=$REDIS_DB"; CLUSTER_PORTS=""
if [ "${REDIS_CLUSTER:-0}" = 1 ]; then
  "$ROOT/deploy/services.sh" cluster up
  REDIS_CONNECTION=$("$ROOT/deploy/services.sh" cluster env | sed "s/^export ConnectionStrings__Redis='\(.*\)'$/\1/")
  CLUSTER_PORTS=$(echo "$REDIS_CONNECTION" | tr ',' '\n' | cut -d: -f2)
  for p in $CLUSTER_PORTS; do redis-cli -h 127.0.0.1 -p "$p" FLUSHALL >/dev/null 2>&1 || true; done
  REDIS=(redis-cli -c -h 127.0.0.1 -p "$(echo "$CLUSTER_PORTS" | head -n 1)")
  SERVER_ENV="Clicks__StreamShards=3 Conversions__StreamShards=3 ${SERVER_ENV:-}"
fi
[ -n "$CLUSTER_PORTS" ] || "${REDIS[@]}" FLUSHDB >/dev/null
# Keys matching a pattern: from the one Redis, or from every primary of the cluster.
scan_keys() {
  if [ -z "$CLUSTER_PORTS" ]; then "${REDIS[@]}" --scan --pattern "$1"; return; fi
  for p in $CLUSTER_PORTS; do
    if redis-cli -h 127.0.0.1 -p "$p" role | head -n 1 | grep -q master; then redis-cli -h 127.0.0.1 -p "$p" --scan --pattern "$1"; fi
  done
}
q() { psql "$PG dbname=$DB" -tAc "$1"; }

DLL="${TRACKER_DLL:-$ROOT/src/AffiliateTracker/bin/Release/net10.0/AffiliateTracker.dll}"
if [ -z "${TRACKER_DLL:-}" ]; then
  echo "== building the tracker (Release)"
  dotnet build "$ROOT/src/AffiliateTracker" -c Release -v q -nologo >/dev/null
fi
echo "== tracker: $DLL"

for port in "$PORT" "$NGINX_PORT" "$DRAIN_PORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is in use; stop what runs there first" >&2; exit 1; fi
done
SERVER_PID=""; NGINX_PID=""; DRAIN_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$DRAIN_PID" ] && kill "$DRAIN_PID" 2>/dev/null && wait "$DRAIN_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
}
trap cleanup EXIT

# The reference: nginx answering every request with the same kind of answer, a 302 with a cookie.
cat > "$WORK/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    location / {
      add_header Set-Cookie "atc_1=01M826K991BF642XFMVZZN3E6W; Max-Age=2592000; Path=/; SameSite=Lax; HttpOnly" always;
      add_header Cache-Control "no-store" always;
      return 302 "https://shop.example/landing?click_id=01M826K991BF642XFMVZZN3E6W&aff_id=1&sub1=harness";
    }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" & NGINX_PID=$!

MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
# The country database, as deploy/run.sh uses it: the flusher looks up the country of every click.
GEO_DB="$("$ROOT/deploy/geo.sh")"
# And the traffic data (user-agent expressions, ASN ranges): the flusher classifies every click.
TRAFFIC_DIR="$("$ROOT/deploy/traffic-data.sh")"
start_tracker() { # url log extra-env...
  local url="$1" log="$2"; shift 2
  (
    export ConnectionStrings__Redis="$REDIS_CONNECTION" ConnectionStrings__Postgres
    export Demo__Enabled=true PublicBaseUrl="$BASE" Secrets__MasterKey="$MASTER_KEY" Geo__CountryDatabase="$GEO_DB" Traffic__DataDirectory="$TRAFFIC_DIR"
    # Demo postback tokens are public; the load comes from one address, so the per-IP postback limit is off.
    export RateLimits__PostbackPerIpPerSecond=0 RateLimits__ManagementPerKeyPerMinute=0 RateLimits__ManagementPerIpPerMinute=0
    for kv in ${SERVER_ENV:-} "$@"; do export "$kv"; done
    exec dotnet "$DLL" --urls "$url"
  ) > "$log" 2>&1 &
}

echo "== starting the tracker on $BASE (flushers $FLUSHERS)"
if [ "$FLUSHERS" = deferred ]; then
  start_tracker "$BASE" "$WORK/server.log" Clicks__FlusherEnabled=false Conversions__FlusherEnabled=false
else
  start_tracker "$BASE" "$WORK/server.log"
fi
SERVER_PID=$!
for _ in $(seq 1 120); do curl -sf "$BASE/health" >/dev/null 2>&1 && break; sleep 0.5; done
curl -sf "$BASE/health" >/dev/null || { echo "tracker did not start; see $WORK/server.log"; exit 1; }
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break; sleep 0.1; done

api() { curl -sf -H "Authorization: Bearer demo-admin-key" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
# "name{} 1" is "name 1": OpenTelemetry's exporter writes empty braces on series without labels.
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '{ sub(/\{\} /, " ") } index($0, m" ") == 1 {print $2}' | tail -n 1 | cut -d. -f1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
# CPU (user + system clock ticks) of every process with this name: redis-server, postgres (its backends, WAL
# writer, checkpointer...), with the children each has waited for: Redis's AOF rewrites, PostgreSQL's parallel
# workers and ended backends. Nothing else on the machine runs them while the harness does.
cpu_ticks_of() { for p in $(pgrep -x "$1"); do awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
# Redis forks (AOF rewrites) so far: each stalls Redis for the fork and then costs copy-on-write faults.
redis_forks() {
  local p
  for p in ${CLUSTER_PORTS:-${AT_REDIS_PORT:-16379}}; do redis-cli -h 127.0.0.1 -p "$p" info stats | sed -n 's/^total_forks:\([0-9]*\).*/\1/p'; done |
    awk '{s += $1} END {print s + 0}'
}
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }
offer=$(api "$BASE/api/v1/offers" | json "[0]['id']")

# A fresh link on the demo sneakers offer for a fresh publisher, so its rows are this run's alone.
new_link() {
  local publisher link
  publisher=$(api -X POST "$BASE/api/v1/publishers" -d "{\"name\":\"harness $1 $(date +%s%N)\"}" | json "['id']")
  api -X PUT "$BASE/api/v1/offers/$offer/publishers/$publisher" -d '{}' >/dev/null
  link=$(api -X POST "$BASE/api/v1/links" -d "{\"offer_id\":$offer,\"publisher_id\":$publisher}")
  echo "$(echo "$link" | json "['code']") $(echo "$link" | json "['id']")"
}

# Pre-made clicks for postbacks, older than the too-fast threshold so conversions are not flagged.
make_clicks() {
  local ids="" id
  for i in $(seq 1 "$1"); do
    id=$(curl -s -o /dev/null -D - -A "Mozilla/5.0 harness-$i" "$BASE/c/demo-sneakers-bob?sub1=harness" | sed -nE 's/^[Ss]et-[Cc]ookie: atc_[0-9]+=([A-Z0-9]+);.*/\1/p')
    ids="$ids${ids:+,}$id"
  done
  echo "$ids"
}

# wrk with the run's settings; prints the RESULT line's fields as shell assignments.
run_wrk() { # target-url script
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$2" "$1" 2>&1 | sed -n 's/^RESULT //p'
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

wait_rows() { # sql expected
  local n=0
  for _ in $(seq 1 240); do n=$(q "$1"); [ "$n" -ge "$2" ] && break; sleep 0.5; done
  echo "$n"
}

# FLUSHERS=deferred: a flush-only instance empties Redis into PostgreSQL while the count check waits, then
# stops before the next workload's runs, and the rows it wrote per second are printed.
drain_start() {
  [ "$FLUSHERS" = deferred ] || return 0
  start_tracker "http://127.0.0.1:$DRAIN_PORT" "$WORK/drain.log" Demo__Enabled=false; DRAIN_PID=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$DRAIN_PORT/health" >/dev/null 2>&1 && break; sleep 0.25; done
  DRAIN_CLICKS0=$(q "select count(*) from clicks"); DRAIN_CONVERSIONS0=$(q "select count(*) from conversions")
  DRAIN_T0=$(date +%s.%N)
}
drain_stop() {
  [ "$FLUSHERS" = deferred ] && [ -n "$DRAIN_PID" ] || return 0
  local clicks conversions secs
  clicks=$(( $(q "select count(*) from clicks") - DRAIN_CLICKS0 )); conversions=$(( $(q "select count(*) from conversions") - DRAIN_CONVERSIONS0 ))
  secs=$(python3 -c "import time; print(f'{time.time() - $DRAIN_T0:.1f}')")
  kill "$DRAIN_PID" 2>/dev/null && wait "$DRAIN_PID" 2>/dev/null || true; DRAIN_PID=""
  echo "deferred flush: once it answered /health, the flush-only instance wrote $clicks click rows and $conversions conversion rows in ${secs}s ($(python3 -c "print(round(($clicks + $conversions) / $secs))") rows/s; the count is polled every 0.5 s)"
}

table_header() { printf '\n%-22s %10s %9s %9s %9s %9s %7s %8s %24s %6s %9s %11s\n' "run" "req/s" "p50 ms" "p99 ms" "p99.9 ms" "errors" "cpu %" "rss MB" "cpu us/req trk/redis/pg" "forks" "WAL B/req" "flush lag s"; }
table_row() { printf '%-22s %10s %9s %9s %9s %9s %7s %8s %24s %6s %9s %11s\n' "$@"; }
# How far behind the flushers were as the run ended (read at once, before they catch up): the age of the oldest entry
# in the last pass, the largest over the click and conversion streams. A flusher that fell behind shows it here.
flush_lag() { curl -s "$BASE/metrics" | awk '/^at_flush_lag_seconds\{stream="(clicks|cv):/ { if ($2 > m) m = $2 } END { printf "%.2f", m }'; }
# PostgreSQL's WAL bytes so far (the whole cluster; nothing else writes to it during a run): WAL per request shows
# how much a request's rows and index entries cost to log, the part of PostgreSQL's CPU that grows with each index.
wal_bytes() { psql "$PG dbname=postgres" -tAc "select wal_bytes from pg_stat_wal"; }
# The tracker's, Redis's and PostgreSQL's CPU ticks, Redis's forks and the WAL so far, read before and after a run.
usage() { echo "$(cpu_ticks) $(cpu_ticks_of redis-server) $(cpu_ticks_of postgres) $(redis_forks) $(wal_bytes)"; }
tracker_row() { # label wrk-result usage-before usage-after flush-lag
  local t="$2" c0 r0 g0 f0 w0 c1 r1 g1 f1 w1
  read -r c0 r0 g0 f0 w0 <<< "$3"; read -r c1 r1 g1 f1 w1 <<< "$4"
  table_row "$1" "$(field "$t" rps)" "$(field "$t" p50_ms)" "$(field "$t" p99_ms)" "$(field "$t" p999_ms)" "$(( $(field "$t" errors) + $(field "$t" bad_status) ))" \
    "$(( (c1 - c0) / DURATION ))" "$(rss_mb)" "$(per_request "$(field "$t" requests)" $((c1 - c0)) $((r1 - r0)) $((g1 - g0)))" "$((f1 - f0))" \
    "$(( (w1 - w0) / ($(field "$t" requests) > 0 ? $(field "$t" requests) : 1) ))" "$5"
}
# CPU microseconds per request of the tracker, Redis and PostgreSQL over one run: what each request cost each tier.
per_request() { # requests tracker-ticks redis-ticks pg-ticks
  python3 -c "r = max($1, 1); print(f'{$2 * $TICK_US / r:.1f}/{$3 * $TICK_US / r:.1f}/{$4 * $TICK_US / r:.1f}')"
}

# One run of the reference; sets n (wrk's figures) and prints its row with nginx's own CPU per request.
nginx_run() { # round
  local x0 x1
  x0=$(cpu_ticks_of nginx)
  n=$(PATH_PREFIX=/c/any run_wrk "http://127.0.0.1:$NGINX_PORT" "$HERE/clicks.lua")
  x1=$(cpu_ticks_of nginx)
  table_row "nginx 302 #$1" "$(field "$n" rps)" "$(field "$n" p50_ms)" "$(field "$n" p99_ms)" "$(field "$n" p999_ms)" "$(( $(field "$n" errors) + $(field "$n" bad_status) ))" \
    "$(( (x1 - x0) / DURATION ))" "-" "nginx $(python3 -c "print(f'{$(( (x1 - x0) * TICK_US )) / max(1, $(field "$n" requests)):.1f}')")"
}

compare() { # name tracker-script nginx-path
  local name="$1" script="$2" best_t=0 best_n=0 sum_t=0 sum_n=0 r t n c0 c1 p99t p99n lag
  table_header
  for round in $(seq 1 "$ROUNDS"); do
    nginx_run "$round"
    u0=$(usage); t=$(run_wrk "$BASE" "$script"); lag=$(flush_lag)
    tracker_row "tracker $name #$round" "$t" "$u0" "$(usage)" "$lag"
    sum_t=$(python3 -c "print($sum_t + $(field "$t" rps))"); sum_n=$(python3 -c "print($sum_n + $(field "$n" rps))")
    p99t=$(field "$t" p99_ms); p99n=$(field "$n" p99_ms)
  done
  printf 'ratio tracker/nginx (mean of %s alternating runs each): %s   (last p99: tracker %s ms, nginx %s ms)\n' \
    "$ROUNDS" "$(python3 -c "print(f'{$sum_t / $sum_n:.3f}')")" "$p99t" "$p99n"
}

clicks_mode() {
  echo; echo "=== clicks: GET /c/{code}, $THREADS threads, $CONNS connections, ${DURATION}s per run"
  read -r code link_id < <(new_link clicks)
  local before after rows
  before=$(metric 'at_clicks_total{outcome="redirect"}'); before=${before:-0}
  PATH_PREFIX="/c/$code" compare clicks "$HERE/clicks.lua"
  after=$(metric 'at_clicks_total{outcome="redirect"}')
  drain_start
  rows=$(wait_rows "select count(*) from clicks where link_id = $link_id" $((after - before)))
  drain_stop
  echo "clicks answered 302 by the tracker: $((after - before))   click rows in PostgreSQL: $rows   lost: $(( after - before - rows ))"
  # Attribution records live in one hash per shard and minute: bytes per click = the hashes' memory / fields.
  local hashes bytes fields
  hashes=$(scan_keys 'at:{clicks:*}:a:*')
  bytes=$(for k in $hashes; do "${REDIS[@]}" MEMORY USAGE "$k" SAMPLES 0; done | awk '{s += $1} END {print s + 0}')
  fields=$(for k in $hashes; do "${REDIS[@]}" HLEN "$k"; done | awk '{s += $1} END {print s + 0}')
  echo "Redis bytes per stored click: $(( bytes / (fields > 0 ? fields : 1) )) ($bytes bytes in $(echo "$hashes" | wc -w) minute hashes holding $fields clicks)"
  # Besides: one key per visitor and offer for UniqueWindow (24 h), deciding unique clicks. wrk is one visitor,
  # so the warm-up's and the postback clicks' visitors are sampled.
  local visitors
  visitors=$(scan_keys 'at:{uq:*' | head -n 200)
  if [ -n "$visitors" ]; then
    echo "Redis bytes per visitor key (unique-click window): $(for k in $visitors; do "${REDIS[@]}" MEMORY USAGE "$k" SAMPLES 0; done | awk '{s += $1; n++} END {printf "%.0f", s / n}') (mean of $(echo "$visitors" | wc -w) keys)"
  fi
}

# The same clicks on a smart link: the rules are evaluated from the in-memory snapshot on every click.
smart_mode() {
  echo; echo "=== smart link clicks: GET /s/{code}, $THREADS threads, $CONNS connections, ${DURATION}s per run"
  local publisher second smart code id before after rows
  publisher=$(api -X POST "$BASE/api/v1/publishers" -d "{\"name\":\"harness smart $(date +%s%N)\"}" | json "['id']")
  second=$(api "$BASE/api/v1/offers" | json "[1]['id']")
  for o in "$offer" "$second"; do api -X PUT "$BASE/api/v1/offers/$o/publishers/$publisher" -d '{}' >/dev/null; done
  smart=$(api -X POST "$BASE/api/v1/smart-links" -d "{\"publisher_id\":$publisher,\"name\":\"harness\",\"fallback_url\":\"https://fallback.example/\",
    \"rules\":[{\"os\":[\"ios\"],\"offers\":[{\"offer_id\":$second}]},{\"countries\":[\"DE\",\"AT\"],\"offers\":[{\"offer_id\":$second}]},
             {\"offers\":[{\"offer_id\":$offer,\"weight\":3},{\"offer_id\":$second,\"weight\":1}]}]}")
  code=$(echo "$smart" | json "['code']"); id=$(echo "$smart" | json "['id']")
  before=$(metric 'at_clicks_total{outcome="redirect"}'); before=${before:-0}
  PATH_PREFIX="/s/$code" compare smart-link "$HERE/clicks.lua"
  after=$(metric 'at_clicks_total{outcome="redirect"}')
  drain_start
  rows=$(wait_rows "select count(*) from clicks where smart_link_id = $id" $((after - before)))
  drain_stop
  echo "smart-link clicks answered 302: $((after - before))   click rows in PostgreSQL: $rows   lost: $(( after - before - rows ))   by rule and offer: $(q "select string_agg(smart_rule || '/' || offer_id || '=' || n, ' ') from (select smart_rule, offer_id, count(*) n from clicks where smart_link_id = $id group by 1, 2 order by 1, 2) x")"
}

postbacks_mode() {
  echo; echo "=== postbacks: GET /postback with unique txids (every 10th a retry of an earlier one), $CONNS connections, ${DURATION}s per run"
  local clicks run created0 dup0 created1 dup1 rows total=0 lag
  clicks=$(make_clicks 200); sleep 6
  created0=$(metric 'at_postbacks_total{decision="created",via="postback"}'); created0=${created0:-0}
  dup0=$(metric 'at_postbacks_total{decision="duplicate",via="postback"}'); dup0=${dup0:-0}
  table_header
  for round in $(seq 1 "$ROUNDS"); do
    nginx_run "$round"
    u0=$(usage); t=$(CLICKS="$clicks" TOKEN=demo-postback-token RUN="h$(date +%s%N)" run_wrk "$BASE" "$HERE/postbacks.lua"); lag=$(flush_lag)
    tracker_row "tracker postbacks #$round" "$t" "$u0" "$(usage)" "$lag"
  done
  created1=$(metric 'at_postbacks_total{decision="created",via="postback"}'); dup1=$(metric 'at_postbacks_total{decision="duplicate",via="postback"}')
  drain_start
  rows=$(wait_rows "select count(*) from conversions where txid like 'h%'" $((created1 - created0)))
  drain_stop
  echo "postbacks answered created: $((created1 - created0))   duplicate: $((dup1 - dup0))   conversion rows: $rows   lost: $((created1 - created0 - rows))   txids in two rows: $(q "select count(*) from (select txid from conversions where txid like 'h%' group by offer_id, goal, txid having count(*) > 1) d")"
}

# Why postbacks go through Redis and not straight to PostgreSQL: the synchronous design's database work
# alone (no HTTP, no attribution), one transaction per postback with the conversion and its history row,
# by pgbench with the same number of clients.
sync_reference() {
  echo; echo "=== reference: one synchronous transaction per postback (conversion INSERT .. ON CONFLICT + history row), pgbench, $CONNS clients, ${DURATION}s"
  q "CREATE TABLE bench_sync_conversions (LIKE conversions INCLUDING ALL); CREATE TABLE bench_sync_history (LIKE conversion_status_history INCLUDING ALL)" >/dev/null
  cat > "$WORK/sync-insert.sql" <<'SQL'
BEGIN;
INSERT INTO bench_sync_conversions (id, click_id, click_created_at, offer_id, advertiser_id, publisher_id, goal, txid, dedupe_key,
  status, amount, currency, payout, revenue, via, created_at, hold_until, status_changed_at)
VALUES (md5(random()::text), 'c', now(), 1, 1, 1, 'sale', md5(random()::text), md5(random()::text), 'pending', 120, 'USD', 12, 18,
  'postback', now(), now() + interval '7 days', now())
ON CONFLICT DO NOTHING;
INSERT INTO bench_sync_history (event_id, conversion_id, to_status, actor, changed_at)
VALUES (gen_random_uuid(), 'c', 'pending', 'advertiser:1', now()) ON CONFLICT DO NOTHING;
COMMIT;
SQL
  pgbench "$PG dbname=$DB" -n -c "$CONNS" -j 2 -T "$DURATION" -f "$WORK/sync-insert.sql" 2>/dev/null | grep -E "^tps|latency average" | sed 's/^/  /'
  q "DROP TABLE bench_sync_conversions, bench_sync_history" >/dev/null
}

mixed_mode() {
  echo; echo "=== mixed: clicks with 2% postbacks, $CONNS connections, ${DURATION}s per run"
  local clicks code link_id c0 c1 p0 p1 rows crow
  read -r code link_id < <(new_link mixed)
  clicks=$(make_clicks 200); sleep 6
  c0=$(metric 'at_clicks_total{outcome="redirect"}'); p0=$(metric 'at_postbacks_total{decision="created",via="postback"}'); p0=${p0:-0}
  PATH_PREFIX="/c/$code" CLICKS="$clicks" TOKEN=demo-postback-token RUN="m$(date +%s%N)" compare mixed "$HERE/mixed.lua"
  c1=$(metric 'at_clicks_total{outcome="redirect"}'); p1=$(metric 'at_postbacks_total{decision="created",via="postback"}')
  drain_start
  rows=$(wait_rows "select count(*) from clicks where link_id = $link_id" $((c1 - c0)))
  crow=$(wait_rows "select count(*) from conversions where txid like 'm%'" $((p1 - p0)))
  drain_stop
  echo "clicks answered 302: $((c1 - c0))   click rows: $rows   postbacks created: $((p1 - p0))   conversion rows: $crow"
}

echo "machine: $(nproc) cores; wrk, nginx, the tracker, Redis (AOF everysec$([ -n "$CLUSTER_PORTS" ] && echo "; a cluster of 3 primaries and 3 replicas") ) and PostgreSQL share them"
echo "tracker settings: ${SERVER_ENV:-none}"
# Warm-up, not measured: the JIT tiers the hot paths up in the first seconds under load.
echo "== warm-up (${WARMUP:-15}s of clicks, 5s of postbacks)"
PATH_PREFIX=/c/demo-sneakers-alice wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP:-15}s" -s "$HERE/clicks.lua" "$BASE" >/dev/null 2>&1
CLICKS="$(make_clicks 20)" TOKEN=demo-postback-token RUN="warm$(date +%s%N)" wrk -t"$THREADS" -c"$CONNS" -d5s -s "$HERE/postbacks.lua" "$BASE" >/dev/null 2>&1
case "$MODE" in
  clicks) clicks_mode ;;
  smart) clicks_mode; smart_mode ;;
  postbacks) postbacks_mode; sync_reference ;;
  mixed) mixed_mode ;;
  all) clicks_mode; postbacks_mode; sync_reference; mixed_mode ;;
  *) echo "usage: $0 [clicks|smart|postbacks|mixed|all]" >&2; exit 2 ;;
esac
echo; echo "tracker metrics at the end:"; curl -s "$BASE/metrics" | grep -E '^at_(clicks|postbacks|flush_entries|flush_failures|store_errors)' | sed 's/^/  /'
