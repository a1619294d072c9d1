#!/usr/bin/env bash
# Build the local Kubernetes control plane used by the integration tests from Go modules:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes), etcd
# (go.etcd.io/etcd/server/v3) and kwok (sigs.k8s.io/kwok), at the versions pinned in versions.env.
#
# Only the Go module proxy is used (the ordinary `go` client, checksums verified by sum.golang.org).
# k8s.io/kubernetes and etcd cannot be `go install`ed directly because their go.mod replaces their
# own sub-modules with local directories, so each is built from a small generated wrapper module
# that requires it and repeats those replaces with the published versions (see docs/control-plane.md).
#
# Binaries are cached by version outside the work tree, so only the first run on a machine pays:
#   ${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}/control-plane/<k8s-version>/bin
# and <repo>/.cache/control-plane/bin is a (git-ignored) symlink to it. Only missing binaries are built.
#
# Usage: hack/control-plane/build.sh [--print-bin-dir | --check | --help]
#   --print-bin-dir  print the cache directory of the binaries and exit
#   --check          exit 0 when every binary is present at its pinned version, 1 otherwise
# If `go` is missing, prints why and exits 0 (the test fixture then skips with that reason).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"

CACHE_BASE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}
ROOT=$CACHE_BASE/control-plane/$K8S_VERSION
BIN=$ROOT/bin
WORK=$ROOT/work

# name|version|main module|package|sub-module version (for the wrapper's replaces)
K8S_MINOR=${K8S_VERSION#v1.}
K8S_STAGING=v0.$K8S_MINOR
TARGETS=(
  "kube-apiserver|$K8S_VERSION|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|$K8S_STAGING"
  "kube-controller-manager|$K8S_VERSION|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|$K8S_STAGING"
  "kube-scheduler|$K8S_VERSION|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-scheduler|$K8S_STAGING"
  "kubectl|$K8S_VERSION|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kubectl|$K8S_STAGING"
  "etcd|$ETCD_VERSION|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3|$ETCD_VERSION"
  "kwok|$KWOK_VERSION|sigs.k8s.io/kwok|sigs.k8s.io/kwok/cmd/kwok|$KWOK_VERSION"
)

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

present() { # name version -> 0 when the cached binary is there at that version
  [[ -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null)" == "$2" ]]
}

all_present() {
  local t name version
  for t in "${TARGETS[@]}"; do
    IFS='|' read -r name version _ <<<"$t"
    present "$name" "$version" || return 1
  done
}

case "${1:-}" in
  --print-bin-dir) echo "$BIN"; exit 0 ;;
  --check) all_present; exit $? ;;
  --help | -h) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

link_into_repo() {
  mkdir -p "$REPO/.cache/control-plane"
  ln -sfn "$BIN" "$REPO/.cache/control-plane/bin"
}

if all_present; then
  link_into_repo
  log "binaries up to date in $BIN (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  mkdir -p "$ROOT"
  echo "go toolchain not found on PATH" >"$ROOT/go-missing"
  log "SKIP: the Go toolchain is not installed, so the control plane cannot be built."
  log "      Integration tests that need a Kubernetes API server will be skipped."
  log "      Install Go >= 1.26 (https://go.dev/dl) and re-run: make control-plane"
  exit 0
fi
rm -f "$ROOT/go-missing"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOWORK=off
mkdir -p "$BIN" "$WORK"

# One build at a time per version (the pytest fixture and `make` may race).
exec 9>"$ROOT/.lock"
if ! flock -n 9; then
  log "another build of $K8S_VERSION is running; waiting for it to finish..."
  flock 9
  if all_present; then link_into_repo; log "binaries are now up to date in $BIN"; exit 0; fi
fi

# Writes a wrapper module in $1 that requires $2@$3 and replaces each of its locally-replaced
# sub-modules with the published version $4; writes "<commit> <time>" of $2@$3 to $1/.origin.
make_wrapper() {
  local dir=$1 module=$2 version=$3 subversion=$4 meta gomod_json
  mkdir -p "$dir"
  meta=$(cd "$ROOT" && go mod download -json "$module@$version") \
    || die "go mod download $module@$version failed:
$meta"
  local gomod info
  gomod=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("GoMod",""))' <<<"$meta")
  info=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("Info",""))' <<<"$meta")
  [[ -n "$gomod" && -f "$gomod" ]] || die "no go.mod for $module@$version: $meta"
  gomod_json=$(go mod edit -json "$gomod")
  GOMOD_JSON=$gomod_json python3 - "$module" "$version" "$subversion" "$dir/go.mod" <<'PY'
import json, os, sys
module, version, subversion, out = sys.argv[1:]
mod = json.loads(os.environ["GOMOD_JSON"])
lines = [f"module fks.local/control-plane-build/{module.replace('/', '-')}", "", f"go {mod['Go']}", ""]
for d in mod.get("Godebug") or []:
    lines.append(f"godebug {d['Key']}={d['Value']}")
lines += ["", f"require {module} {version}", "", "replace ("]
required = {r["Path"] for r in mod.get("Require") or []}
for r in mod.get("Replace") or []:
    old, new = r["Old"], r["New"]
    lhs = old["Path"] + (" " + old["Version"] if old.get("Version") else "")
    if new["Path"].startswith(("./", "../")):
        if old["Path"] not in required:
            continue  # replaced only for its own tests (e.g. etcd's go.etcd.io/tests/v3)
        lines.append(f"\t{lhs} => {old['Path']} {subversion}")
    else:
        lines.append(f"\t{lhs} => {new['Path']} {new.get('Version', '')}".rstrip())
lines.append(")")
open(out, "w").write("\n".join(lines) + "\n")
PY
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print((d.get("Origin") or {}).get("Hash") or "unknown", d.get("Time","1970-01-01T00:00:00Z"))' "$info" >"$dir/.origin"
}

ldflags_for() { # name version commit time
  local name=$1 version=$2 commit=$3 time=$4 flags="-s -w"
  case "$name" in
    kube-* | kubectl)
      local minor=${version#v1.} p
      minor=${minor%%.*}
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
        flags+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$time"
      done ;;
    etcd) flags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${commit:0:7}" ;;
    kwok) flags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=$version" ;;
  esac
  echo "$flags"
}

total_start=$SECONDS
log "building into $BIN with $(go version | cut -d' ' -f3) (module proxy: $(go env GOPROXY))"
declare -A prepared=()
i=0
for t in "${TARGETS[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name version module pkg subversion <<<"$t"
  if present "$name" "$version"; then
    log "$name $version ($i/${#TARGETS[@]}) already built"
    continue
  fi
  dir=$WORK/$(tr '/' '-' <<<"$module")-$version
  start=$SECONDS
  if [[ -z "${prepared[$dir]:-}" ]]; then
    log "resolving $module@$version (wrapper module in $dir)..."
    make_wrapper "$dir" "$module" "$version" "$subversion"
    prepared[$dir]=1
  fi
  read -r commit mtime <"$dir/.origin"
  # Adds this package's dependencies (at the versions the pinned module requires) to go.mod/go.sum.
  (cd "$dir" && go get "$pkg@$version") || die "go get $pkg@$version failed (see output above)"
  log "building $name $version ($i/${#TARGETS[@]})..."
  (cd "$dir" && go build -trimpath -ldflags "$(ldflags_for "$name" "$version" "$commit" "$mtime")" \
    -o "$BIN/.$name.tmp" "$pkg") || die "go build $pkg failed (see output above)"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  echo "$version" >"$BIN/.$name.version"
  secs=$((SECONDS - start))
  echo "$(date -u +%FT%TZ) $name $version ${secs}s" >>"$ROOT/build-times.log"
  log "built $name $version in $(fmt_secs $secs)"
done
total=$((SECONDS - total_start))
echo "$(date -u +%FT%TZ) total ${total}s" >>"$ROOT/build-times.log"
link_into_repo
log "done in $(fmt_secs $total); binaries in $BIN (symlinked from .cache/control-plane/bin)"
