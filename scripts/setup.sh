#!/usr/bin/env bash
# Everything the demo and the tests need, done only when missing: Debian packages, npm packages
# (including the Node 24 runtime that npm scripts run on) and the Go-built control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Go lives in /usr/local/go on these machines; PATH may not say so in a bare CI environment.
[ -d /usr/local/go/bin ] && case ":$PATH:" in *":/usr/local/go/bin:"*) ;; *) export PATH="/usr/local/go/bin:$PATH" ;; esac

bash scripts/setup-system.sh

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.dbcred-lock.sha256 2>/dev/null || true)" != "$lock_sum" ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.dbcred-lock.sha256
fi

# Against an external cluster (scripts/test.sh with KUBECONFIG set) only kubectl and helm are
# needed: taken from DBCRED_BIN_DIR when it holds them, else built alone.
if [ "${DBCRED_SETUP_KUBERNETES:-true}" = "false" ]; then
  if [ -n "${DBCRED_BIN_DIR:-}" ] && [ -x "$DBCRED_BIN_DIR/kubectl" ] && [ -x "$DBCRED_BIN_DIR/helm" ]; then
    log "external cluster: kubectl and helm from $DBCRED_BIN_DIR, nothing built"
  else
    bash scripts/build-control-plane.sh kubectl helm >/dev/null
  fi
  exit 0
fi

start=$SECONDS
bash scripts/build-control-plane.sh >/dev/null
[ $((SECONDS - start)) -gt 2 ] && log "control plane binaries ready in $((SECONDS - start)) s"
bash scripts/setup-node.sh
exit 0
