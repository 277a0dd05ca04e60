#!/usr/bin/env bash
# The IP-to-country database the redirect uses for offers sold only in some countries (Geo:CountryDatabase).
#   deploy/geo.sh          fetch it into .data/geo/ unless it is there; print its path
#   deploy/geo.sh update   fetch the newest release of the package instead of the pinned one
# Data: ip-location-db's geo-whois-asn-country (https://github.com/sapics/ip-location-db), built from the five
# regional internet registries' WHOIS and ASN data, CC BY 4.0 by the NRO (credited in README). It comes from the
# npm registry (`npm pack`); a network with a commercial GeoIP2 Country file sets Geo__CountryDatabase to that.
# Without Node.js/npm, or offline, it says so and exits 0: the server then knows countries only from a trusted
# proxy's CF-IPCountry, and country-restricted offers send every other visitor to their fallback.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${AT_DATA_DIR:-$ROOT/.data}/geo"
PACKAGE="@ip-location-db/geo-whois-asn-country-mmdb"
VERSION="2.3.2026061719"
FILE="$DIR/geo-whois-asn-country.mmdb"
log() { echo "[geo] $*" >&2; }

if [ "${1:-}" = update ]; then VERSION="latest"; rm -f "$FILE"; fi
if [ ! -s "$FILE" ]; then
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing npm from the system packages"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 || true
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: no IP-to-country database (install Node.js and npm, or set Geo__CountryDatabase)"
    exit 0
  fi
  mkdir -p "$DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && timeout 300 npm pack --silent "$PACKAGE@$VERSION" >/dev/null 2>&1); then
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    cp "$tmp/package/geo-whois-asn-country.mmdb" "$FILE.new" && mv "$FILE.new" "$FILE"
    cp "$tmp/package/NRO_LICENSE" "$DIR/NRO_LICENSE" 2>/dev/null || true
    log "fetched $PACKAGE@$VERSION into $FILE"
  else
    log "could not fetch $PACKAGE@$VERSION from the npm registry: no IP-to-country database"
    exit 0
  fi
fi
echo "$FILE"
