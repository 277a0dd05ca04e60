#!/usr/bin/env bash
# Brings up Redis and PostgreSQL (deploy/services.sh) and runs the tracker with the demo network.
#   AT_HTTP_PORT   port to listen on (default 5080)
#   AT_PUBLIC_URL  the address browsers use to reach this server (default http://127.0.0.1:$AT_HTTP_PORT)
#   AT_DEMO=0      run without the demo network
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${AT_HTTP_PORT:-5080}"
deploy/services.sh up
eval "$(deploy/services.sh env)"
export ConnectionStrings__Redis ConnectionStrings__Postgres
export Demo__Enabled="$([ "${AT_DEMO:-1}" = 0 ] && echo false || echo true)"
export PublicBaseUrl="${AT_PUBLIC_URL:-http://127.0.0.1:$PORT}"
# The IP-to-country database (fetched once into .data/geo; Geo__CountryDatabase may name another file).
export Geo__CountryDatabase="${Geo__CountryDatabase:-$(deploy/geo.sh)}"
# Browser, OS and network data for traffic details (fetched once into .data/traffic).
export Traffic__DataDirectory="${Traffic__DataDirectory:-$(deploy/traffic-data.sh)}"
# The master key signing keys are derived from: made once, kept with the data (set Secrets__MasterKey to bring your own).
if [ -z "${Secrets__MasterKey:-}" ]; then
  [ -s .data/master.key ] || (umask 077; head -c 32 /dev/urandom | base64 > .data/master.key)
  export Secrets__MasterKey="$(cat .data/master.key)"
fi
# Logs go to the console as JSON lines; the demo banner is printed once the server is ready.
exec dotnet run --project src/AffiliateTracker -c Release -- --urls "http://127.0.0.1:$PORT"
