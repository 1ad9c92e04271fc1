#!/usr/bin/env bash
# What the test node needs (harness/node.ts), done only when missing: Debian's containerd, runc,
# CNI plugins, busybox-static, iptables (to check that a node adds no rules), nftables (kube-proxy's
# mode), buildah and debootstrap (the operator image is built from the Containerfile, on a Node base
# image made locally), the kubelet, kube-scheduler and kube-proxy built like the control plane, and the pause and app
# images. Warm: about a second. The operator image is built by its own test
# (test/node/operator-image.test.ts), from the current src/.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-node] %s\n' "$*" >&2; }

missing=()
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(containernetworking-plugins)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v iptables-save >/dev/null 2>&1 || missing+=(iptables)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)

if [ ${#missing[@]} -gt 0 ]; then
  # containerd's package would start the machine-wide service: the harness runs its own per node.
  bash scripts/apt-install.sh setup-node "${missing[@]}"
fi

start=$SECONDS
bash scripts/build-control-plane.sh kubelet kube-scheduler kube-proxy >/dev/null
[ $((SECONDS - start)) -gt 2 ] && log "kubelet, kube-scheduler and kube-proxy ready in $((SECONDS - start)) s"

# Node 24 from the npm `node` package runs the TypeScript builder directly.
node_modules/.bin/node scripts/build-images.ts pause app >/dev/null
exit 0
