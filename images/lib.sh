# Helpers shared by the image definitions (images/<name>/rootfs.sh). Each definition is called as
#   rootfs.sh inputs          print what the image is made from (file digests, versions): the cache key
#   rootfs.sh build <rootfs>  fill an empty folder with the image's root filesystem
# and the builder (harness/images.ts) turns the folder into a one-layer OCI archive.
set -euo pipefail

# shared_libraries prints the shared libraries a dynamically linked binary loads (ldd's resolved paths).
shared_libraries() {
  ldd "$1" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } $1 ~ /^\// { print $1 }' | sort -u
}

# copy_binary copies a binary and every library it loads into rootfs, dereferencing symlinks and
# keeping library paths (the loader's own path is baked into the binary).
copy_binary() { # rootfs source target
  local rootfs="$1" source="$2" target="$3" lib
  install -D -m 0755 "$source" "$rootfs$target"
  for lib in $(shared_libraries "$source"); do
    # Keep the mode: the kernel needs the loader (ld-linux) to be executable.
    [ -e "$rootfs$lib" ] || install -D -m "$(stat -Lc %a "$lib")" "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

# binary_inputs prints the digest of a binary and of every library it loads.
binary_inputs() { # source...
  local source
  for source in "$@"; do
    sha256sum "$source" $(shared_libraries "$source")
  done | sort -u
}

# add_busybox installs the static busybox with a symlink per applet (sh, cat, sleep, ...).
add_busybox() { # rootfs
  local rootfs="$1" applet
  install -D -m 0755 /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
}

# add_accounts writes /etc/passwd and /etc/group with root, an unprivileged `app` (10001) and nobody,
# and a world-writable /tmp.
add_accounts() { # rootfs
  local rootfs="$1"
  mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/app"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\napp:x:10001:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  chown 10001:10001 "$rootfs/home/app"
}
