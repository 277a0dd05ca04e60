#!/usr/bin/env bash
# A product feed of N products (default 100,000) uploaded and downloaded with deep links, against the server
# (Release) on 127.0.0.1:5093 with the demo network and its own database (affiliatetracker_feeds, made anew):
# the time of each transfer and the server's memory (resident set before, and its peak, VmHWM, after each
# step), to show that a feed of any size streams through rather than sitting in memory.
#   benchmarks/feeds/run.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
N="${1:-100000}"
PORT=5093; DB=affiliatetracker_feeds; BASE="http://127.0.0.1:$PORT"
deploy/services.sh up >/dev/null
eval "$(deploy/services.sh env "$DB")"
PG="host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker"
psql "$PG dbname=postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
dotnet build src/AffiliateTracker -c Release -v q -nologo >/dev/null
WORK="$(mktemp -d)"
( export ConnectionStrings__Postgres ConnectionStrings__Redis="$ConnectionStrings__Redis,defaultDatabase=6" Demo__Enabled=true PublicBaseUrl="$BASE"
  export Secrets__MasterKey="$(head -c 32 /dev/urandom | base64)"
  exec dotnet src/AffiliateTracker/bin/Release/net10.0/AffiliateTracker.dll --urls "$BASE" ) > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do curl -sf "$BASE/health" >/dev/null 2>&1 && break; sleep 0.5; done

mem() { awk -v k="$1" '$1 == k":" {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
api() { curl -sf -H "Authorization: Bearer $1" "${@:2}"; }
ADMIN=demo-admin-key; ALICE=demo-publisher-alice-key
OFFER=$(api "$ADMIN" "$BASE/api/v1/offers" | python3 -c "import json,sys; print([o['id'] for o in json.load(sys.stdin) if o['deep_link_domains']][0])")

# A YML catalogue as a Russian-speaking shop would publish it: categories, then one <offer> per product.
python3 - "$N" "$BASE" > "$WORK/feed.yml" <<'PY'
import sys
n, base = int(sys.argv[1]), sys.argv[2]
w = sys.stdout.write
w('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE yml_catalog SYSTEM "shops.dtd">\n<yml_catalog date="2026-12-04 10:00"><shop><name>Demo Shop</name>\n<categories>')
for c in range(1, 51): w(f'<category id="{c}">Category {c}</category>')
w('</categories>\n<offers>\n')
for i in range(n):
    w(f'<offer id="sku-{i}" available="{"true" if i % 7 else "false"}"><url>{base}/demo/shop?product=sneakers&amp;model=sku-{i}</url>'
      f'<price>{(i % 50000) / 100 + 9.99:.2f}</price><currencyId>RUB</currencyId><categoryId>{i % 50 + 1}</categoryId>'
      f'<picture>https://img.shop.example/{i}.jpg</picture><name>Кроссовки модель {i}</name>'
      f'<description>Лёгкие беговые кроссовки, артикул {i}, с сетчатым верхом и амортизирующей подошвой.</description></offer>\n')
w('</offers></shop></yml_catalog>\n')
PY
SIZE=$(stat -c %s "$WORK/feed.yml")
FEED=$(api "$ADMIN" -H 'Content-Type: application/json' -d '{"name":"Bench catalogue"}' "$BASE/api/v1/offers/$OFFER/product-feeds" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
# Warm the paths once on a small feed, then record the resting memory.
head -c 4000 "$WORK/feed.yml" | sed '$d' > "$WORK/small.yml"; echo '</offers></shop></yml_catalog>' >> "$WORK/small.yml"
api "$ADMIN" -X PUT -H 'Content-Type: application/xml' --data-binary @"$WORK/small.yml" "$BASE/api/v1/product-feeds/$FEED/products" >/dev/null || true
api "$ALICE" "$BASE/api/v1/product-feeds/$FEED/download?format=csv" >/dev/null || true
echo "server at rest: RSS $(mem VmRSS) MB, peak so far $(mem VmHWM) MB"
echo "feed: $N products, YML, $((SIZE / 1024 / 1024)) MB"

t0=$(date +%s.%N)
REPORT=$(api "$ADMIN" -X PUT -H 'Content-Type: application/xml' -T "$WORK/feed.yml" "$BASE/api/v1/product-feeds/$FEED/products")
t1=$(date +%s.%N)
echo "upload:   $(python3 -c "print(f'{$t1 - $t0:.1f}')") s   $(echo "$REPORT" | python3 -c "import json,sys; r=json.load(sys.stdin); print(f\"{r['products']} products, {r['skipped']} skipped\")")   server RSS $(mem VmRSS) MB, peak $(mem VmHWM) MB"
for format in csv yml google; do
  t0=$(date +%s.%N)
  bytes=$(api "$ALICE" "$BASE/api/v1/product-feeds/$FEED/download?format=$format&sub1=feed" -o "$WORK/out.$format" -w '%{size_download}')
  t1=$(date +%s.%N)
  echo "download $format: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s   $((bytes / 1024 / 1024)) MB, $(grep -cE "/c/demo-sneakers-alice\?sub1=feed&(amp;)?url=" "$WORK/out.$format") deep links   server RSS $(mem VmRSS) MB, peak $(mem VmHWM) MB"
done
