#!/usr/bin/env bash
# Fires N clicks (default 10,000) at a running tracker on 127.0.0.1 with ApacheBench (a fixed request
# count, bounded concurrency), on a fresh tracking link, then waits for the flusher and compares the
# 302s answered with the click rows in PostgreSQL. Needs the demo network (deploy/run.sh).
#   benchmarks/load/fire-clicks.sh [N] [CONCURRENCY]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-10000}"; C="${2:-32}"
BASE="${AT_BASE_URL:-http://127.0.0.1:5080}"
KEY="${AT_ADMIN_KEY:-demo-admin-key}"
command -v ab >/dev/null || { echo "installing apache2-utils (ab)"; apt-get install -y -qq apache2-utils >/dev/null; }
eval "$("$ROOT/deploy/services.sh" env)"

api() { curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
offer=$(api "$BASE/api/v1/offers" | json "[0]['id']")
publisher=$(api -X POST "$BASE/api/v1/publishers" -d "{\"name\":\"load test $(date +%s%N)\"}" | json "['id']")
api -X PUT "$BASE/api/v1/offers/$offer/publishers/$publisher" -d '{}' >/dev/null
link=$(api -X POST "$BASE/api/v1/links" -d "{\"offer_id\":$offer,\"publisher_id\":$publisher}")
code=$(echo "$link" | json "['code']"); link_id=$(echo "$link" | json "['id']")

echo "firing $N clicks at $BASE/c/$code with concurrency $C"
out=$(ab -q -n "$N" -c "$C" -k -H 'User-Agent: Mozilla/5.0 (load test) Firefox/130.0' "$BASE/c/$code?sub1=load&sub2=test" 2>&1)
echo "$out" | grep -E "Complete requests|Failed requests|Non-2xx|Requests per second|Time per request.*mean\)|  99%"
redirects=$(echo "$out" | awk '/Non-2xx responses/ {print $3}')

rows=0
for _ in $(seq 1 120); do
  rows=$(psql "host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker dbname=affiliatetracker" -tAc "select count(*) from clicks where link_id = $link_id")
  [ "$rows" -ge "${redirects:-0}" ] && break
  sleep 0.5
done
echo "clicks sent: $N   302 answered: ${redirects:-0}   click rows in PostgreSQL: $rows"
[ "$rows" = "$N" ] && [ "${redirects:-0}" = "$N" ] && echo "OK: every click is exactly one row" || { echo "MISMATCH"; exit 1; }
