#!/usr/bin/env bash
# The data the click flusher reads traffic details from (Traffic:DataDirectory):
#   regexes.yaml            uap-core's user-agent regular expressions (browser and OS families), Apache-2.0
#   asn-ipv4-num.csv, asn-ipv6.csv   ip-location-db's ASN ranges (network number and name), RouteViews and DB-IP data,
#                           CC BY 4.0 (credited in README)
#   deploy/traffic-data.sh          fetch them into .data/traffic/ unless there; print the directory
#   deploy/traffic-data.sh update   fetch the newest releases instead of the pinned ones
# Both come from the npm registry (`npm pack`). Without npm, or offline, it says so and exits 0: clicks then
# carry the device type (from the server's own rules) but no browser, OS or network.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${AT_DATA_DIR:-$ROOT/.data}/traffic"
UAP="uap-core"; UAP_VERSION="0.18.0"
ASN="@ip-location-db/asn"; ASN_VERSION="2.3.2026061719"
log() { echo "[traffic] $*" >&2; }

if [ "${1:-}" = update ]; then UAP_VERSION=latest; ASN_VERSION=latest; rm -f "$DIR/regexes.yaml" "$DIR/asn-ipv4-num.csv"; fi
mkdir -p "$DIR"
if [ ! -s "$DIR/regexes.yaml" ] || [ ! -s "$DIR/asn-ipv4-num.csv" ]; then
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing npm from the system packages"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 || true
  fi
  if ! command -v npm >/dev/null 2>&1; then log "npm not found: no user-agent or ASN data"; echo "$DIR"; exit 0; fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && timeout 300 npm pack --silent "$UAP@$UAP_VERSION" "$ASN@$ASN_VERSION" >/dev/null 2>&1); then
    mkdir -p "$tmp/uap" "$tmp/asn"
    tar -xzf "$tmp"/uap-core-*.tgz -C "$tmp/uap"
    tar -xzf "$tmp"/ip-location-db-asn-*.tgz -C "$tmp/asn"
    cp "$tmp/uap/package/regexes.yaml" "$DIR/regexes.yaml.new" && mv "$DIR/regexes.yaml.new" "$DIR/regexes.yaml"
    cp "$tmp/uap/package/LICENSE" "$DIR/UAP-LICENSE"
    for f in asn-ipv4-num.csv asn-ipv6.csv; do cp "$tmp/asn/package/$f" "$DIR/$f.new" && mv "$DIR/$f.new" "$DIR/$f"; done
    cp "$tmp/asn/package/"*LICENSE "$DIR/" 2>/dev/null || true
    log "fetched $UAP@$UAP_VERSION and $ASN@$ASN_VERSION into $DIR"
  else
    log "could not fetch $UAP and $ASN from the npm registry: no user-agent or ASN data"
  fi
fi
echo "$DIR"
