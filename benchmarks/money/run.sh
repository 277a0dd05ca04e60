#!/usr/bin/env bash
# Reports and reconciliation at scale: seeds 10 million clicks (30 days, 20 offers, 100 publishers, 10
# countries, 20 placements per sub1) and 100,000 conversions into a separate database, starts the server
# (Release) against it, and times through the API:
#   - 30-day reports grouped by day, by offer and day, by country, by sub1, by device type, by browser; reference: the same report
#     computed from the raw clicks table, timed in the same run;
#   - a 100,000-row reconciliation upload; reference: a bare \copy of the same CSV into a table.
#   benchmarks/money/run.sh [CLICKS] [CONVERSIONS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CLICKS="${1:-10000000}"; CONVERSIONS="${2:-100000}"
PORT=5090; DB=affiliatetracker_bench; KEY=bench-admin-key
deploy/services.sh up
PG="host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker dbname=$DB"
psql "host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker dbname=postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
redis-cli -p "${AT_REDIS_PORT:-16379}" -n 2 FLUSHDB >/dev/null

dotnet build src/AffiliateTracker -c Release -v q >/dev/null
ConnectionStrings__Postgres="Host=127.0.0.1;Port=${AT_PG_PORT:-15432};Username=affiliatetracker;Database=$DB;Maximum Pool Size=50" ConnectionStrings__Redis="127.0.0.1:${AT_REDIS_PORT:-16379},defaultDatabase=2" \
  dotnet run --project src/AffiliateTracker -c Release --no-build -- --urls "http://127.0.0.1:$PORT" > /tmp/at-bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 90); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "server did not start; see /tmp/at-bench-server.log"; exit 1; }

echo "== seeding $CLICKS clicks and $CONVERSIONS conversions"
start=$(date +%s)
psql "$PG" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO advertisers (name) VALUES ('Bench advertiser');
INSERT INTO offers (advertiser_id, name, landing_url, default_goal, hold_period_hours)
SELECT 1, 'Offer ' || i, 'https://shop.example/?c={click_id}', 'sale', 720 FROM generate_series(1, 20) i;
INSERT INTO goals (offer_id, code, name, payout_type, payout, revenue_type, revenue) SELECT id, 'sale', 'Sale', 'fixed', 5, 'fixed', 8 FROM offers;
INSERT INTO publishers (name, min_payout) SELECT 'Publisher ' || i, 50 FROM generate_series(1, 100) i;
INSERT INTO offer_access (offer_id, publisher_id) SELECT 1 + (p * 7 + k) % 20, p FROM generate_series(1, 100) p, generate_series(0, 2) k ON CONFLICT DO NOTHING;
INSERT INTO api_keys (key_hash, role, name) VALUES (sha256('$KEY'::bytea), 'admin', 'bench');
SET synchronous_commit = off;
INSERT INTO clicks (click_id, created_at, offer_id, publisher_id, sub1, country, is_unique, is_bot, device_type, os, os_version, browser, asn, is_datacenter)
SELECT md5(i::text), now() - (i % 2592000) * interval '1 second' - random() * interval '1 second',
       1 + ((i % 100 + 1) * 7 + i % 3) % 20, i % 100 + 1, 'p' || (i % 20),
       (ARRAY['US','DE','GB','FR','BR','IN','JP','CA','AU','ES'])[1 + i % 10], i % 4 <> 0, i % 50 = 0,
       (ARRAY['mobile','mobile','desktop','mobile','desktop','tablet','mobile','desktop','mobile','tv'])[1 + i % 10],
       (ARRAY['iOS','Android','Windows','Android','macOS','iOS','iOS','Linux','Android','Tizen'])[1 + i % 10], (13 + i % 5)::text,
       (ARRAY['Mobile Safari','Chrome Mobile','Chrome','Samsung Internet','Safari','Mobile Safari','Chrome Mobile iOS','Firefox','Yandex Browser','Chrome'])[1 + (i / 7) % 10],
       (ARRAY[3320,7922,12389,16509,15169,3215,6830,8359,5089,13335])[1 + (i / 3) % 10], (i / 3) % 10 IN (3, 4, 9)
FROM generate_series(1, $CLICKS) i;
INSERT INTO click_rollup_hour SELECT date_trunc('hour', created_at), offer_id, publisher_id, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks GROUP BY 1, 2, 3;
INSERT INTO click_rollup_country SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(country, ''), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks GROUP BY 1, 2, 3, 4;
INSERT INTO click_rollup_subs SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(sub1, ''), '', '', '', '', count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks GROUP BY 1, 2, 3, 4;
INSERT INTO click_rollup_device SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, device_type, os, os_version, browser, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO click_rollup_network SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, asn, is_datacenter, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks GROUP BY 1, 2, 3, 4, 5;
INSERT INTO conversions (id, click_id, click_created_at, offer_id, advertiser_id, publisher_id, goal, txid, dedupe_key, status, amount, currency,
                         payout, revenue, sub1, country, via, created_at, hold_until, status_changed_at, device_type, os, os_version, browser, asn, is_datacenter)
SELECT 'cv' || i, md5((i * 97)::text), now(), 1 + ((i % 100 + 1) * 7 + i % 3) % 20, 1, i % 100 + 1, 'sale', 'bench-' || i, 't:bench-' || i,
       (ARRAY['pending','approved','approved','rejected'])[1 + i % 4], 100, 'USD', 5, 8, 'p' || (i % 20),
       (ARRAY['US','DE','GB','FR','BR','IN','JP','CA','AU','ES'])[1 + i % 10], 'postback',
       now() - (i % 2592000) * interval '1 second', now() + interval '30 days', now(),
       (ARRAY['mobile','mobile','desktop','mobile','desktop','tablet','mobile','desktop','mobile','tv'])[1 + i % 10],
       (ARRAY['iOS','Android','Windows','Android','macOS','iOS','iOS','Linux','Android','Tizen'])[1 + i % 10], (13 + i % 5)::text,
       (ARRAY['Mobile Safari','Chrome Mobile','Chrome','Samsung Internet','Safari','Mobile Safari','Chrome Mobile iOS','Firefox','Yandex Browser','Chrome'])[1 + (i / 7) % 10],
       (ARRAY[3320,7922,12389,16509,15169,3215,6830,8359,5089,13335])[1 + (i / 3) % 10], (i / 3) % 10 IN (3, 4, 9)
FROM generate_series(1, $CONVERSIONS) i;
ANALYZE;
SQL
echo "seeded in $(( $(date +%s) - start )) s: $(psql "$PG" -tAc 'select count(*) from clicks') clicks, $(psql "$PG" -tAc 'select count(*) from conversions') conversions, rollup rows: hour $(psql "$PG" -tAc 'select count(*) from click_rollup_hour'), country $(psql "$PG" -tAc 'select count(*) from click_rollup_country'), subs $(psql "$PG" -tAc 'select count(*) from click_rollup_subs'), device $(psql "$PG" -tAc 'select count(*) from click_rollup_device'), network $(psql "$PG" -tAc 'select count(*) from click_rollup_network')"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
api_time() { for _ in 1 2 3; do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT$1"; done | median; }
raw_time() { for _ in 1 2 3; do psql "$PG" -qAt -c '\timing on' -c "$1" | awk '/^Time:/ {print $2/1000}'; done | median; }

echo "== 30-day reports (median of 3, seconds)"
printf "%-28s %10s %14s %8s\n" "group by" "API" "raw clicks" "ratio"
for g in day offer,day country sub1 device_type browser; do
  api=$(api_time "/api/v1/reports?group_by=$g")
  case $g in
    day) raw="SELECT date_trunc('day', created_at), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1" ;;
    offer,day) raw="SELECT offer_id, date_trunc('day', created_at), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1, 2" ;;
    country) raw="SELECT country, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1" ;;
    sub1) raw="SELECT sub1, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1" ;;
    device_type) raw="SELECT device_type, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1" ;;
    browser) raw="SELECT browser, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot) FROM clicks WHERE created_at >= now() - interval '30 days' GROUP BY 1" ;;
  esac
  rawt=$(raw_time "$raw")
  printf "%-28s %10s %14s %8s\n" "$g" "$api" "$rawt" "$(python3 -c "print(f'{$rawt/$api:.1f}x faster')")"
done

echo "== reconciliation of $CONVERSIONS rows"
CSV=/tmp/at-bench-report.csv
psql "$PG" -qAt -c "\copy (SELECT txid, CASE WHEN random() < 0.1 THEN 'rejected' ELSE status END, CASE WHEN random() < 0.05 THEN amount + 1 ELSE amount END FROM conversions) TO '$CSV' WITH (FORMAT csv)"
sed -i '1i txid,status,amount' "$CSV"
echo "bench-missing-1,approved,10" >> "$CSV"
up=$(curl -s -o /tmp/at-bench-recon.json -w '%{time_total}' -H "Authorization: Bearer $KEY" -H 'Content-Type: text/csv' --data-binary @"$CSV" \
  "http://127.0.0.1:$PORT/api/v1/reconciliations?advertiser_id=1")
psql "$PG" -qc "CREATE TABLE bench_copy (txid text, status text, amount numeric)" >/dev/null
ref=$(psql "$PG" -qAt -c '\timing on' -c "\copy bench_copy FROM '$CSV' WITH (FORMAT csv, HEADER)" | awk '/^Time:/ {print $2/1000}')
echo "upload + compare via API: ${up} s   reference, bare \\copy of the same file: ${ref} s   ratio $(python3 -c "print(f'{$up/$ref:.1f}x')")"
python3 -c "import json; d=json.load(open('/tmp/at-bench-recon.json')); print('rows', d['rows_read'], 'malformed', d['rows_malformed'], 'counts', d['counts'])"
