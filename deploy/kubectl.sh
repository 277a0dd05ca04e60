#!/usr/bin/env bash
# A kubectl that can render the Kubernetes manifests (deploy/kubernetes, `kubectl kustomize`), for the tests that
# check them: the one on PATH, else Debian's kubernetes-client installed from the system packages (kubectl 1.20,
# whose kustomize v2.0.3 the manifests are written for). Prints its path; nothing when there is none.
# Rendering needs no cluster: nothing here talks to one.
set -euo pipefail
log() { echo "[kubectl] $*" >&2; }
renders() { "$1" kustomize --help >/dev/null 2>&1; }

if command -v kubectl >/dev/null 2>&1 && renders "$(command -v kubectl)"; then
  command -v kubectl
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "installing kubernetes-client from the system packages"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null 2>&1; } || true
fi
if [ -x /usr/bin/kubectl ] && renders /usr/bin/kubectl; then
  echo /usr/bin/kubectl
  exit 0
fi
log "no kubectl that renders kustomizations: the Kubernetes manifest tests will fail (apt-get install kubernetes-client)"
