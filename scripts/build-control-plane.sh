#!/usr/bin/env bash
# Builds the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy, kubectl) and helm from published Go modules into a cache folder
# outside the checkout. Only missing binaries are built, so a warm run takes well under a second.
#
# Usage: scripts/build-control-plane.sh [binary...]   (default: the control-plane set)
# Prints nothing but progress on stderr; the binary folder is printed on stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
CACHE_DIR="${DBCRED_CACHE_DIR:-$HOME/.cache/dbcred}"
BIN_DIR="$CACHE_DIR/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
SRC_DIR="$CACHE_DIR/src"

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(etcd kube-apiserver kube-controller-manager kubectl helm)

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "Go is required (https://go.dev) and was not found on PATH"; exit 1; }
mkdir -p "$BIN_DIR" "$SRC_DIR"

# A module that requires k8s.io/kubernetes and maps each of its staging modules to the
# published k8s.io/X v0.N.M (the exact list comes from kubernetes' own go.mod).
k8s_module() {
  local dir="$SRC_DIR/k8s-$K8S_VERSION"
  if [ ! -f "$dir/go.mod" ]; then
    mkdir -p "$dir"
    local staging_version="v0.${K8S_VERSION#v1.}"
    local modfile
    modfile=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module dbcred.local/k8sbuild"
      echo
      grep -E '^go [0-9.]+$' "$modfile"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      grep -oE 'k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/[A-Za-z0-9._-]+' "$modfile" \
        | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } > "$dir/go.mod.tmp"
    mv "$dir/go.mod.tmp" "$dir/go.mod"
  fi
  echo "$dir"
}

wrapper_module() { # name module version
  local dir="$SRC_DIR/$1"
  if [ ! -f "$dir/go.mod" ]; then
    mkdir -p "$dir"
    printf 'module dbcred.local/%sbuild\n\ngo 1.24\n\nrequire %s %s\n' "$1" "$2" "$3" > "$dir/go.mod"
  fi
  echo "$dir"
}

k8s_ldflags() {
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local f="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$f"
}

build() { # name dir package ldflags
  local name="$1" dir="$2" pkg="$3" ldflags="$4" start=$SECONDS
  log "building $name ($pkg) ..."
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$name.tmp" "$pkg")
  mv "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
  log "built $name in $((SECONDS - start)) s"
}

for name in "${wanted[@]}"; do
  [ -x "$BIN_DIR/$name" ] && continue
  case "$name" in
    etcd) build etcd "$(wrapper_module etcd-$ETCD_VERSION go.etcd.io/etcd/server/v3 "$ETCD_VERSION")" go.etcd.io/etcd/server/v3 "-s -w" ;;
    helm) build helm "$(wrapper_module helm-$HELM_VERSION helm.sh/helm/v4 "$HELM_VERSION")" helm.sh/helm/v4/cmd/helm \
            "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl)
      build "$name" "$(k8s_module)" "k8s.io/kubernetes/cmd/$name" "$(k8s_ldflags)" ;;
    *) log "unknown binary: $name"; exit 2 ;;
  esac
done
echo "$BIN_DIR"
