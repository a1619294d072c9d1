#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks use, only when missing:
# redis-server, wrk, openssl; with FKS_WITH_DOCKER=1 also docker.io and debootstrap.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# Image builds (CI sets FKS_WITH_DOCKER=1): Debian's Docker engine, and debootstrap for a local
# base image where no registry can be pulled. Developers with their own Docker don't need these.
if [ "${FKS_WITH_DOCKER:-0}" = 1 ]; then
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io iptables)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "missing packages: ${need[*]} (install them with apt-get, or run as root)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo ">> installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a system redis-server on 6379 after install; tests start their own on free ports.
