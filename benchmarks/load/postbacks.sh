#!/usr/bin/env bash
# Postback throughput against a running tracker (deploy/run.sh, demo network) on 127.0.0.1, and the
# reference it is chosen against: the same conversions written synchronously, one committed INSERT per
# postback, by pgbench with the same number of clients. Then checks that every postback answered
# "created" is exactly one conversion row once the flusher drains.
#   benchmarks/load/postbacks.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECS="${1:-10}"; CONNS="${2:-64}"
BASE="${AT_BASE_URL:-http://127.0.0.1:5080}"
TOKEN="${AT_POSTBACK_TOKEN:-demo-postback-token}"
PG="host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker dbname=affiliatetracker"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null

# 50 fresh clicks on the demo sneakers offer (its sale goal takes many conversions per click, one per txid).
clicks=""
for i in $(seq 1 50); do
  id=$(curl -s -o /dev/null -D - -A "Mozilla/5.0 load-$i" "$BASE/c/demo-sneakers-bob?sub1=load" | sed -nE 's/^[Ss]et-[Cc]ookie: atc_[0-9]+=([A-Z0-9]+);.*/\1/p')
  clicks="$clicks${clicks:+,}$id"
done
sleep 6 # older than the too-fast threshold, so conversions are not flagged
before=$(psql "$PG" -tAc "select count(*) from conversions where txid like 'load-%'")

echo "== tracker: $CONNS connections, ${SECS}s of GET /postback with unique txids"
out=$(CLICKS="$clicks" TOKEN="$TOKEN" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$ROOT/benchmarks/load/postbacks.lua" "$BASE")
echo "$out" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|requests in"
sent=$(echo "$out" | awk '/requests in/ {print $1}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}'); non2xx=${non2xx:-0}
created=$((sent - non2xx))

rows=0
for _ in $(seq 1 120); do
  rows=$(( $(psql "$PG" -tAc "select count(*) from conversions where txid like 'load-%'") - before ))
  [ "$rows" -ge "$created" ] && break
  sleep 0.5
done
echo "postbacks answered 200: $created   conversion rows: $rows"

echo "== reference: the synchronous alternative's database work alone (no HTTP, no attribution): per postback one"
echo "   transaction with the conversion INSERT .. ON CONFLICT DO NOTHING and its history row, $CONNS pgbench clients"
psql "$PG" -qc "CREATE TABLE IF NOT EXISTS bench_sync_conversions (LIKE conversions INCLUDING ALL)" >/dev/null
psql "$PG" -qc "CREATE TABLE IF NOT EXISTS bench_sync_history (LIKE conversion_status_history INCLUDING ALL)" >/dev/null
psql "$PG" -qc "TRUNCATE bench_sync_conversions, bench_sync_history" >/dev/null
cat > /tmp/at-sync-insert.sql <<'SQL'
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
pgbench "$PG" -n -c "$CONNS" -j 2 -T "$SECS" -f /tmp/at-sync-insert.sql 2>/dev/null | grep -E "^tps|latency average"
psql "$PG" -qc "DROP TABLE bench_sync_conversions, bench_sync_history" >/dev/null
