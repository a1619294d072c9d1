#!/usr/bin/env bash
# Builds the programs of the kind node image that the local control plane does not already have:
# kubelet, kubeadm, kube-proxy (k8s.io/kubernetes, same wrapper module as hack/control-plane),
# coredns (hack/kind/coredns: kubeadm's plugins only) and pause (hack/kind/pause); kind itself:
# hack/kind/kind.sh.
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and etcd are taken from the
# control plane's cache (hack/control-plane/build.sh builds them when missing).
#
# Cache: ${FKS_CACHE_DIR:-~/.cache/fks}/kind/<k8s-version>/bin, one .<name>.version file per
# binary; only missing binaries are built. Prints the bin directory on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../control-plane/versions.env
source "$HERE/../control-plane/versions.env"
# shellcheck source=versions.env
source "$HERE/versions.env"

CACHE_BASE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}
ROOT=$CACHE_BASE/kind/$K8S_VERSION
BIN=$ROOT/bin
WORK=$ROOT/work
log() { printf '[kind-binaries] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

present() { [[ -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null)" == "$2" ]]; }
mark() { echo "$2" >"$BIN/.$1.version"; }

command -v go >/dev/null || die "the Go toolchain is needed to build the kind node image"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath" GOWORK=off
mkdir -p "$BIN" "$WORK"
exec 9>"$ROOT/.lock"
flock 9

build() { # name version dir package ldflags
  local name=$1 version=$2 dir=$3 pkg=$4 flags=$5 start=$SECONDS
  present "$name" "$version" && return 0
  log "building $name $version..."
  (cd "$dir" && go build -ldflags "$flags" -o "$BIN/.$name.tmp" "$pkg") \
    || die "go build $pkg failed (see above)"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  mark "$name" "$version"
  echo "$(date -u +%FT%TZ) $name $version $((SECONDS - start))s" >>"$ROOT/build-times.log"
  log "built $name in $((SECONDS - start))s"
}

# 1. coredns with kubeadm's plugins only (hack/kind/coredns/main.go).
if ! present coredns "$COREDNS_VERSION"; then
  dir=$WORK/coredns-$COREDNS_VERSION
  mkdir -p "$dir"
  cp "$HERE/coredns/main.go" "$dir/main.go"
  printf 'module fks.local/kind/coredns\n\ngo 1.24\n\nrequire github.com/coredns/coredns %s\n' \
    "$COREDNS_VERSION" >"$dir/go.mod"
  (cd "$dir" && go mod tidy) >&2 || die "go mod tidy for coredns $COREDNS_VERSION failed"
  build coredns "$COREDNS_VERSION" "$dir" . \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
fi

# 2. pause (no dependencies).
pause_version=$(sha256sum "$HERE/pause/main.go" | cut -c1-12)
if ! present pause "$pause_version"; then
  dir=$WORK/pause
  mkdir -p "$dir"
  cp "$HERE/pause/main.go" "$dir/main.go"
  printf 'module fks.local/kind/pause\n\ngo 1.24\n' >"$dir/go.mod"
  build pause "$pause_version" "$dir" . "-s -w"
fi
# 3. kubelet, kubeadm, kube-proxy from the control plane's wrapper module of k8s.io/kubernetes.
k8s_dir=$WORK/kubernetes-$K8S_VERSION
CP_ROOT=$(dirname "$("$HERE/../control-plane/build.sh" --print-bin-dir)")
cp_work=$CP_ROOT/work/k8s.io-kubernetes-$K8S_VERSION
if ! { present kubelet "$K8S_VERSION" && present kubeadm "$K8S_VERSION" && present kube-proxy "$K8S_VERSION"; }; then
  [[ -f "$cp_work/go.mod" ]] || "$HERE/../control-plane/build.sh" >&2
  [[ -f "$cp_work/go.mod" ]] || die "hack/control-plane/build.sh made no wrapper module in $cp_work"
  mkdir -p "$k8s_dir"
  cp "$cp_work/go.mod" "$cp_work/go.sum" "$cp_work/.origin" "$k8s_dir/"
  read -r commit mtime <"$k8s_dir/.origin"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  flags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    flags+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$mtime"
  done
  for name in kubelet kubeadm kube-proxy; do
    present "$name" "$K8S_VERSION" && continue
    (cd "$k8s_dir" && go get "k8s.io/kubernetes/cmd/$name@$K8S_VERSION") >&2 \
      || die "go get k8s.io/kubernetes/cmd/$name failed"
    build "$name" "$K8S_VERSION" "$k8s_dir" "k8s.io/kubernetes/cmd/$name" "$flags"
  done
fi

# 4. What the control plane already built (same version, same flags): hard links, not rebuilds.
CP_BIN=$("$HERE/../control-plane/build.sh" --print-bin-dir)
if ! "$HERE/../control-plane/build.sh" --check; then
  log "control-plane binaries missing: building them first (hack/control-plane/build.sh)"
  "$HERE/../control-plane/build.sh" >&2
fi
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd; do
  ln -f "$CP_BIN/$name" "$BIN/$name" 2>/dev/null || cp -f "$CP_BIN/$name" "$BIN/$name"
done
echo "$BIN"
