#!/usr/bin/env bash
# The test application image: busybox, psql and the mariadb client, copied with their libraries from
# the Debian packages installed on this machine (postgresql-client, mariadb-client).
source "$(dirname "$0")/../lib.sh"
psql=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
case "$1" in
  inputs) sha256sum /bin/busybox; binary_inputs "$psql" /usr/bin/mariadb ;;
  build)
    add_busybox "$2"
    add_accounts "$2"
    copy_binary "$2" "$psql" /usr/bin/psql
    copy_binary "$2" /usr/bin/mariadb /usr/bin/mariadb
    ;;
esac
