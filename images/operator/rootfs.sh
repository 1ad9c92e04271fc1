#!/usr/bin/env bash
# The operator's image: Node 24 (the binary of the `node` npm package the project already pins), the
# app compiled by tsc with tsconfig.build.json (what `npm run build` makes) and the production
# node_modules from package-lock.json, run as the unprivileged `app` user (10001).
source "$(dirname "$0")/../lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
node="$repo/node_modules/node/bin/node"
[ -x "$node" ] || { echo "no $node: run npm ci first" >&2; exit 1; }
case "$1" in
  inputs)
    binary_inputs "$node"
    (cd "$repo" && find src -type f -name '*.ts' | sort | xargs sha256sum && sha256sum tsconfig.json tsconfig.build.json package.json package-lock.json)
    ;;
  build)
    rootfs="$2"
    add_accounts "$rootfs"
    copy_binary "$rootfs" "$node" /usr/local/bin/node
    mkdir -p "$rootfs/app"
    # Compile straight into the image (not into the checkout's dist/, which other work may be using).
    "$repo/node_modules/.bin/tsc" -p "$repo/tsconfig.build.json" --outDir "$rootfs/app/dist" --sourceMap false
    cp "$repo/package.json" "$repo/package-lock.json" "$rootfs/app/"
    # Production dependencies only; --prefer-offline installs from npm's cache when it has them.
    (cd "$rootfs/app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
    ;;
esac
