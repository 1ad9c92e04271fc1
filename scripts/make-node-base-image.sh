#!/usr/bin/env bash
# Makes the Containerfile's base image locally, under the name the Containerfile pulls
# (docker.io/library/node:24-bookworm-slim), because no container registry is reachable here:
# Debian bookworm (debootstrap minbase, from Debian's archive) + the Node 24 binary of the `node`
# npm package the project pins + npm, laid out as the official image does (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm, user node 1000). Where a registry is reachable, the real image
# is used instead and this script is never needed.
# Usage: scripts/make-node-base-image.sh IMAGE_NAME
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
log() { printf '[node-base-image] %s\n' "$*" >&2; }

node_bin=node_modules/node/bin/node
[ -x "$node_bin" ] || { log "no $node_bin: run npm ci first"; exit 1; }
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/package.json" ] || { log "cannot find npm's folder (from $(command -v npm))"; exit 1; }

work=$(mktemp -d -t dbcred-node-base-XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
rootfs="$work/rootfs"
# The mirror apt already uses on this machine (it is reachable), unless DEBIAN_MIRROR says otherwise.
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node --version >/dev/null

ctr=$(buildah from scratch)
tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$("$node_bin" --version | tr -d v)" --cmd node "$ctr"
buildah commit --quiet --rm "$ctr" "$name" >/dev/null
log "made $name in $((SECONDS - start)) s (Debian bookworm minbase, Node $("$node_bin" --version), npm $(npm --version 2>/dev/null))"
