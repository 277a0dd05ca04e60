#!/usr/bin/env bash
# What the console's browser tests need (tests/AffiliateTracker.ConsoleTests), fetched once:
#   - Debian's Chromium (/usr/bin/chromium), installed from the system packages when missing and run as root;
#   - axe-core, the accessibility checker the tests inject into each page, from the npm registry into .data/axe/.
# Prints the path of axe.min.js. Playwright's own browser download is not used (it needs hosts other than
# the package registries); Playwright drives Debian's Chromium instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${AT_DATA_DIR:-$ROOT/.data}/axe"
AXE_VERSION="4.14.1"
FILE="$DIR/axe-$AXE_VERSION.min.js"
log() { echo "[browser] $*" >&2; }

if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "installing chromium from the system packages"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || true
fi
[ -x /usr/bin/chromium ] || log "no /usr/bin/chromium: the browser tests will fail (apt-get install chromium)"

if [ ! -s "$FILE" ]; then
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 || true
  fi
  mkdir -p "$DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && timeout 300 npm pack --silent "axe-core@$AXE_VERSION" >/dev/null 2>&1); then
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    cp "$tmp/package/axe.min.js" "$FILE.new" && mv "$FILE.new" "$FILE"
    cp "$tmp/package/LICENSE" "$DIR/LICENSE"
    log "fetched axe-core@$AXE_VERSION into $FILE"
  else
    log "could not fetch axe-core@$AXE_VERSION from the npm registry"
    exit 0
  fi
fi
echo "$FILE"
