#!/usr/bin/env bash
# What the test node needs (test/harness/node.ts), done only when missing: Debian's containerd, runc,
# CNI plugins, busybox-static and iptables (to check that a node adds no rules), the kubelet and
# kube-scheduler built like the control plane, and the pause and app images. Warm: about a second.
# The operator image is built by its own test (test/node/operator-image.test.ts), from the current src/.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-node] %s\n' "$*" >&2; }

missing=()
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(containernetworking-plugins)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v iptables-save >/dev/null 2>&1 || missing+=(iptables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})"; exit 1; }
    SUDO=sudo
  fi
  start=$SECONDS
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # containerd's package would start the machine-wide service: the harness runs its own per node.
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_created=1
  fi
  trap '[ $policy_created -eq 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed in $((SECONDS - start)) s"
fi

start=$SECONDS
bash scripts/build-control-plane.sh kubelet kube-scheduler >/dev/null
[ $((SECONDS - start)) -gt 2 ] && log "kubelet and kube-scheduler ready in $((SECONDS - start)) s"

# Node 24 from the npm `node` package runs the TypeScript builder directly.
node_modules/.bin/node scripts/build-images.ts pause app >/dev/null
exit 0
