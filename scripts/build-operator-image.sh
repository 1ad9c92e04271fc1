#!/usr/bin/env bash
# Builds the operator image from the Containerfile with buildah (daemonless, from Debian's
# packages), the way a user builds it with docker or podman, and saves it as a docker archive
# (what `ctr images import`, `docker load` and `kind load image-archive` read).
# Usage: scripts/build-operator-image.sh ARCHIVE REF [EXTRA_TAG...]
# The Containerfile's base image cannot be pulled here (no registry is reachable):
# scripts/make-node-base-image.sh makes it under the same name when buildah does not have it.
set -euo pipefail
cd "$(dirname "$0")/.."
archive=$1
ref=$2
shift 2
log() { printf '[build-operator-image] %s\n' "$*" >&2; }

base=$(sed -n 's/^ARG NODE_IMAGE=//p' Containerfile)
buildah inspect --type image "$base" >/dev/null 2>&1 || bash scripts/make-node-base-image.sh "$base"
# A machine behind a TLS-intercepting proxy trusts its CA through npm's cafile or Node's extra
# CA file: hand it to the build as a secret (never stored in the image).
secret=()
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
if [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ]; then secret=(--secret "id=npm_ca,src=$ca"); fi
tags=(--tag "$ref")
for tag in "$@"; do tags+=(--tag "$tag"); done
start=$SECONDS
buildah build --pull=never --layers --isolation=chroot "${secret[@]}" "${tags[@]}" -f Containerfile . >&2
rm -f "$archive.partial"
buildah push --quiet "$ref" "docker-archive:$archive.partial:$ref" >/dev/null
mv "$archive.partial" "$archive"
log "built $ref in $((SECONDS - start)) s"
