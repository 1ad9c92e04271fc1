#!/usr/bin/env bash
# Installs Debian packages (as root, or with sudo) without starting their services: the harness
# runs its own servers on free ports. Usage: scripts/apt-install.sh TAG PACKAGE...
set -euo pipefail
tag="$1"; shift
log() { printf '[%s] %s\n' "$tag" "$*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { log "missing packages: $*; install them as root (apt-get install $*)"; exit 1; }
  SUDO=sudo
fi
start=$SECONDS
log "installing Debian packages: $*"
export DEBIAN_FRONTEND=noninteractive
policy_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
trap 'if [ $policy_created -eq 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
log "installed in $((SECONDS - start)) s: $*"
