#!/usr/bin/env bash
# Builds a kind node image without pulling anything: a Debian bookworm rootfs (debootstrap, with
# Debian's systemd, containerd, runc, iptables and CNI plugins), kind's own node files (read from
# the sigs.k8s.io/kind module: entrypoint, systemd units, kubelet drop-ins, containerd config),
# kubelet/kubeadm/kubectl, and the images kubeadm and kind start (kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy, etcd, coredns, pause, the pod network)
# built from Go modules and preloaded into the node's containerd. docs/kind.md explains.
#
# Usage: hack/kind/node-image.sh [--print-image]
#   prints the image name (fks-local/kind-node:<k8s-version>-<hash of these scripts>) on stdout;
#   builds it only when the docker engine does not have it yet.
# Cache: ${FKS_CACHE_DIR:-~/.cache/fks}/kind/ (binaries by version, the rootfs tarball).
# Needs: root, docker (and Debian's containerd's ctr, which docker.io brings), python3, debootstrap
# (first build only), Go (hack/kind/build-binaries.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../control-plane/versions.env
source "$HERE/../control-plane/versions.env"
# shellcheck source=versions.env
source "$HERE/versions.env"
DOCKER=${DOCKER:-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}/kind
log() { printf '[kind-node] %s\n' "$*" >&2; }
quiet() { # runs a command, showing its output only when it fails
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}
die() { log "ERROR: $*"; exit 1; }

# Debian packages of the node (and of the kube-proxy / pod-network images built on it).
PACKAGES=systemd,systemd-sysv,dbus,containerd,runc,iptables,nftables,iproute2,ca-certificates
PACKAGES+=,kmod,conntrack,jq,procps,containernetworking-plugins,libseccomp2
hash=$(cat "$HERE"/node-image.sh "$HERE"/build-binaries.sh "$HERE"/fks-runc "$HERE"/manifests/* \
  "$HERE"/coredns/main.go "$HERE"/pause/main.go "$HERE"/versions.env \
  "$HERE"/../control-plane/versions.env | sha256sum | cut -c1-10)
IMAGE=fks-local/kind-node:$K8S_VERSION-$hash
ROOTFS_IMAGE=fks-local/kind-rootfs:bookworm-$(echo "$PACKAGES" | sha256sum | cut -c1-10)
NET_IMAGE=fks-local/kind-net:$K8S_VERSION

case "${1:-}" in
  --print-image) echo "$IMAGE"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1" ;;
esac
if $DOCKER image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already built"
  echo "$IMAGE"
  exit 0
fi
start=$SECONDS
BIN=$("$HERE/build-binaries.sh")
KIND_SRC=$(cd "$HERE" && GOFLAGS= go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
[[ -d "$KIND_SRC/images/base/files" ]] || die "kind's node files not found in $KIND_SRC"
BASE_FILES=$KIND_SRC/images/base/files

work=$(mktemp -d /var/tmp/fks-kind-node.XXXXXX)
build_container=""
cleanup() {
  [[ -n "$build_container" ]] && $DOCKER rm -f "$build_container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The Debian rootfs, as an image (its tarball cached: debootstrap is the slow, networked part).
if ! $DOCKER image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
  tarball=$CACHE/${ROOTFS_IMAGE#fks-local/kind-rootfs:}.rootfs.tar
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
    log "debootstrap bookworm ($PACKAGES) — about 2 minutes"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$work/rootfs" "$MIRROR" \
      >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/* \
      "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* \
      "$work"/rootfs/usr/share/locale/* "$work"/rootfs/var/log/*
    tar -C "$work/rootfs" -cf "$tarball.tmp" . && mv -f "$tarball.tmp" "$tarball"
    rm -rf "$work/rootfs"
  fi
  $DOCKER import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$ROOTFS_IMAGE" >/dev/null
fi

# 2. The component images, tagged as kubeadm names them for this version.
mapfile -t kubeadm_images < <("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
image_for() { printf '%s\n' "${kubeadm_images[@]}" | grep -E "/$1:" || die "kubeadm lists no $1 image"; }
PAUSE_IMAGE=$(image_for pause)

# Static programs: one layer with the binary and the few files a program may look for.
minimal_image() { # tag binary path-in-image [entrypoint json]
  local tag=$1 binary=$2 path=$3 entrypoint=${4:-} dir=$work/minimal
  rm -rf "$dir" && mkdir -p "$dir/etc" "$dir/tmp" "$dir$(dirname "$path")"
  chmod 1777 "$dir/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
  echo 'hosts: files dns' >"$dir/etc/nsswitch.conf"
  cp "$BIN/$binary" "$dir$path"
  local changes=(--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin')
  [[ -n "$entrypoint" ]] && changes+=(--change "ENTRYPOINT $entrypoint")
  tar -C "$dir" --owner=0 --group=0 -c . | $DOCKER import "${changes[@]}" - "$tag" >/dev/null
}
# Programs that need a shell and Debian's tools (iptables, ip): the rootfs plus the program.
rootfs_image() { # tag binary
  local dir=$work/ctx-$2
  mkdir -p "$dir" && cp "$BIN/$2" "$dir/$2"
  printf 'FROM %s\nCOPY %s /usr/local/bin/%s\n' "$ROOTFS_IMAGE" "$2" "$2" >"$dir/Dockerfile"
  DOCKER_BUILDKIT=0 quiet $DOCKER build -q -t "$1" "$dir"
}
log "building the component images"
images=()
for name in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  tag=$(image_for "$name")
  minimal_image "$tag" "$name" "/usr/local/bin/$name"
  images+=("$tag")
done
tag=$(image_for coredns); minimal_image "$tag" coredns /coredns '["/coredns"]'; images+=("$tag")
minimal_image "$PAUSE_IMAGE" pause /pause '["/pause"]'; images+=("$PAUSE_IMAGE")
tag=$(image_for kube-proxy); rootfs_image "$tag" kube-proxy; images+=("$tag")
rootfs_image "$NET_IMAGE" kubectl; images+=("$NET_IMAGE")
$DOCKER save -o "$work/images.tar" "${images[@]}"

# 3. kind's node files, as its base image's Dockerfile lays them out, adapted to Debian's
#    containerd 1.6 (config v2 as kind writes it, no fuse-overlayfs) and to fks-runc.
o=$work/overlay
mkdir -p "$o/usr/local/bin" "$o/usr/local/sbin" "$o/usr/bin" "$o/kind/bin" "$o/kind/manifests" \
  "$o/etc/containerd" "$o/etc/default" "$o/etc/sysctl.d" "$o/etc/systemd/system/kubelet.service.d" \
  "$o/opt/cni" "$o/etc/kubernetes/manifests"
install -m 0755 "$BASE_FILES/usr/local/bin/entrypoint" "$o/usr/local/bin/"
install -m 0755 "$BASE_FILES"/kind/bin/* "$o/kind/bin/"
install -m 0644 "$BASE_FILES/etc/crictl.yaml" "$o/etc/"
install -m 0644 "$BASE_FILES"/etc/default/* "$o/etc/default/"
install -m 0644 "$BASE_FILES"/etc/sysctl.d/* "$o/etc/sysctl.d/"
find "$BASE_FILES/etc/systemd/system" -maxdepth 1 -type f -exec install -m 0644 {} "$o/etc/systemd/system/" \;
install -m 0644 "$BASE_FILES"/etc/systemd/system/kubelet.service.d/* "$o/etc/systemd/system/kubelet.service.d/"
rm -f "$o/etc/systemd/system/containerd-fuse-overlayfs.service"
ln -s /usr/bin/containerd "$o/usr/local/bin/containerd"
ln -s /usr/lib/cni "$o/opt/cni/bin"
install -m 0755 "$HERE/fks-runc" "$o/usr/local/sbin/fks-runc"
for name in kubelet kubeadm kubectl; do install -m 0755 "$BIN/$name" "$o/usr/bin/"; done
printf '%s' "$K8S_VERSION" >"$o/kind/version"
sed "s|@NET_IMAGE@|$NET_IMAGE|" "$HERE/manifests/default-cni.yaml" >"$o/kind/manifests/default-cni.yaml"
cp "$HERE/manifests/default-storage.yaml" "$o/kind/manifests/"
# containerd: kind's config without the fuse-overlayfs proxy plugin, runc through fks-runc,
# kubeadm's pause image. cri-base.json as kind makes it (the product_uuid hook, no rlimits).
python3 - "$BASE_FILES/etc/containerd/config.toml" "$o/etc/containerd/config.toml" "$PAUSE_IMAGE" <<'PY'
import re, sys
src, dst, pause = sys.argv[1:]
text = open(src).read()
text = re.sub(r'\[proxy_plugins\].*?(?=\n\[plugins)', '', text, flags=re.S)
text = re.sub(r'sandbox_image = ".*"', f'sandbox_image = "{pause}"', text)
text = text.replace(
    '    SystemdCgroup = true\n',
    '    SystemdCgroup = true\n    BinaryName = "/usr/local/sbin/fks-runc"\n',
)
if "fuse" in text or text.count("fks-runc") != 2 or pause not in text:
    sys.exit(f"unexpected containerd config in {src}")
open(dst, "w").write(text)
PY
ctr oci spec | python3 -c '
import json, sys
spec = json.load(sys.stdin)
spec.setdefault("hooks", {}).setdefault("createContainer", []).append(
    {"path": "/kind/bin/mount-product-files.sh"})
spec["process"].pop("rlimits", None)
json.dump(spec, sys.stdout, indent=2)' >"$o/etc/containerd/cri-base.json"
cat >"$work/Dockerfile" <<EOF
FROM $ROOTFS_IMAGE
COPY overlay/ /
RUN find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && containerd --version && runc --version && kubelet --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOF
log "assembling the node"
DOCKER_BUILDKIT=0 quiet $DOCKER build -q -t "$IMAGE-stage" -f "$work/Dockerfile" "$work"

# 4. Preload the images into the node's containerd (as `kind build node-image` does: containerd
#    in a build container, `ctr images import --no-unpack`, pinned so the kubelet never evicts them).
build_container=fks-kind-build-$$
$DOCKER run -d --name "$build_container" --entrypoint sleep "$IMAGE-stage" infinity >/dev/null
$DOCKER exec "$build_container" bash -c 'nohup containerd >/dev/null 2>&1 &'
for _ in $(seq 1 30); do
  $DOCKER exec "$build_container" ctr info >/dev/null 2>&1 && break
  sleep 1
done
$DOCKER exec -i "$build_container" ctr --namespace=k8s.io images import \
  --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - <"$work/images.tar" >&2
$DOCKER exec "$build_container" pkill containerd
sleep 1
$DOCKER commit \
  --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  --change 'ENV container=docker' "$build_container" "$IMAGE" >/dev/null
$DOCKER rm -f "$build_container" >/dev/null && build_container=""
$DOCKER image rm "$IMAGE-stage" >/dev/null
# Node images of earlier versions of these scripts (1.2 GB each) go; one in use stays.
for old in $($DOCKER image ls --format '{{.Repository}}:{{.Tag}}' fks-local/kind-node); do
  [[ "$old" == "$IMAGE" ]] || $DOCKER image rm "$old" >/dev/null 2>&1 || true
done
size=$($DOCKER image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')
log "built $IMAGE ($size) in $((SECONDS - start))s"
echo "$IMAGE"
