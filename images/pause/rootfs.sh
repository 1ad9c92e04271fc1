#!/usr/bin/env bash
# The pod sandbox ("pause") image containerd starts for every pod: a shell that sleeps until told to
# stop. No registry is reachable, so it is made from Debian's busybox-static instead of registry.k8s.io/pause.
source "$(dirname "$0")/../lib.sh"
case "$1" in
  inputs) sha256sum /bin/busybox ;;
  build) add_busybox "$2"; add_accounts "$2" ;;
esac
