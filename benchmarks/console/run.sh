#!/usr/bin/env bash
# Console page render times on the 10-million-click database of benchmarks/money/run.sh (run that first: it
# leaves affiliatetracker_bench behind). Starts the server (Release) against it, adds an admin and a
# publisher user (AffiliateTracker add-user), makes one payout run over the seeded approved conversions, signs
# in with curl and times each page N times (default 20): median and p95, in milliseconds, whole request.
#   benchmarks/console/run.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
N="${1:-20}"
PORT=5092; DB=affiliatetracker_bench; KEY=bench-admin-key; BASE="http://127.0.0.1:$PORT"
eval "$(deploy/services.sh env)"
PG="host=127.0.0.1 port=${AT_PG_PORT:-15432} user=affiliatetracker dbname=$DB"
CLICKS=$(psql "$PG" -tAc "SELECT count(*) FROM clicks" 2>/dev/null || echo 0)
[ "$CLICKS" -gt 0 ] || { echo "no $DB database with clicks: run benchmarks/money/run.sh first"; exit 1; }

dotnet build src/AffiliateTracker -c Release -v q >/dev/null
DLL=src/AffiliateTracker/bin/Release/net10.0/AffiliateTracker.dll
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=${AT_PG_PORT:-15432};Username=affiliatetracker;Database=$DB;Maximum Pool Size=50"
export ConnectionStrings__Redis="127.0.0.1:${AT_REDIS_PORT:-16379},defaultDatabase=2"
psql "$PG" -qc "DELETE FROM users WHERE email IN ('bench-admin@bench.test', 'bench-publisher@bench.test')"
AT_NEW_USER_PASSWORD=bench-password-1 dotnet "$DLL" add-user bench-admin@bench.test admin >/dev/null
AT_NEW_USER_PASSWORD=bench-password-1 dotnet "$DLL" add-user bench-publisher@bench.test publisher 1 >/dev/null

dotnet "$DLL" --urls "$BASE" > /tmp/at-bench-console.log 2>&1 &
SERVER=$!
TMP="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT
for i in $(seq 1 90); do curl -sf "$BASE/health" >/dev/null && break; sleep 1; done

RUN=$(psql "$PG" -tAc "SELECT max(id) FROM payout_runs WHERE created_by = 'admin'")
if [ -z "$RUN" ]; then
  RUN=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{}' "$BASE/api/v1/payout-runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fi
LINE=$(psql "$PG" -tAc "SELECT min(id) FROM payout_lines WHERE run_id = $RUN")
echo "database: $CLICKS clicks, $(psql "$PG" -tAc 'SELECT count(*) FROM conversions') conversions; payout run $RUN with $(psql "$PG" -tAc "SELECT count(*) FROM payout_lines WHERE run_id = $RUN") lines"

sign_in() { # email jar
  local token
  token=$(curl -s -c "$2" -b "$2" "$BASE/account/sign-in" | grep -o 'name="__at_af" type="hidden" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -o /dev/null -c "$2" -b "$2" "$BASE/account/sign-in" --data-urlencode "__at_af=$token" --data-urlencode "Email=$1" --data-urlencode "Password=bench-password-1"
}
sign_in bench-admin@bench.test "$TMP/admin"
sign_in bench-publisher@bench.test "$TMP/publisher"

FROM=$(date -u -d '29 days ago' +%F); TO=$(date -u +%F)
time_page() { # jar path
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -b "$1" "$BASE$2")
  [ "$status" = 200 ] || { echo "$2 answered $status"; exit 1; }
  for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_total}\n' -b "$1" "$BASE$2"; done |
    sort -n | awk '{a[NR]=$1*1000} END {printf "%8.1f %8.1f\n", a[int((NR+1)/2)], a[int(NR*0.95+0.999)]}'
}
printf "%-62s %8s %8s\n" "page ($N requests each)" "median" "p95 ms"
for page in "publisher /publisher" \
            "publisher /publisher/reports?From=$FROM&To=$TO&Group=day" \
            "publisher /publisher/reports?From=$FROM&To=$TO&Group=sub1" \
            "publisher /publisher/payments" \
            "admin /admin" \
            "admin /admin/reports?From=$FROM&To=$TO&Group=day" \
            "admin /admin/reports?From=$FROM&To=$TO&Group=publisher" \
            "admin /admin/payouts" \
            "admin /admin/payouts/$RUN" \
            "admin /admin/payouts/$RUN?line=$LINE"; do
  set -- $page
  printf "%-62s %s\n" "$1 $2" "$(time_page "$TMP/$1" "$2")"
done
