"""Where the control-plane binaries live, and building them (via hack/control-plane/build.sh).

The versions are pinned in ``hack/control-plane/versions.env`` (read by both sides), and the
binaries are cached per Kubernetes version outside the work tree:
``${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}/control-plane/<k8s-version>/bin``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "hack" / "control-plane" / "build.sh"
VERSIONS_FILE = REPO / "hack" / "control-plane" / "versions.env"
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
)


class BinariesUnavailable(RuntimeError):
    """The control plane cannot run here; ``skip`` says whether that is a reason to skip."""

    def __init__(self, message: str, *, skip: bool) -> None:
        super().__init__(message)
        self.skip = skip


def versions() -> dict[str, str]:
    """The pinned versions: K8S_VERSION, ETCD_VERSION, KWOK_VERSION."""
    pinned: dict[str, str] = {}
    for raw in VERSIONS_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pinned[key.strip()] = value.strip()
    return pinned


def cache_base() -> Path:
    if os.environ.get("FKS_CACHE_DIR"):
        return Path(os.environ["FKS_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "fks"


def bin_dir() -> Path:
    return cache_base() / "control-plane" / versions()["K8S_VERSION"] / "bin"


def _expected_version(name: str) -> str:
    pinned = versions()
    if name == "etcd":
        return pinned["ETCD_VERSION"]
    if name == "kwok":
        return pinned["KWOK_VERSION"]
    return pinned["K8S_VERSION"]


def missing() -> list[str]:
    """Binaries absent from the cache or built at another version than the pinned one."""
    directory = bin_dir()
    absent = []
    for name in BINARIES:
        stamp = directory / f".{name}.version"
        ok = (directory / name).is_file() and stamp.is_file()
        if not ok or stamp.read_text().strip() != _expected_version(name):
            absent.append(name)
    return absent


def ensure_built(out: TextIO | None = None) -> Path:
    """Return the binary directory, building what is missing first (output streamed to ``out``).

    Raises BinariesUnavailable(skip=True) only when Go is not installed; a failed build is an error.
    """
    if not missing():
        return bin_dir()
    if shutil.which("go") is None:
        raise BinariesUnavailable(
            f"Go is not installed, and {', '.join(missing())} are built from Go modules "
            "by hack/control-plane/build.sh (install Go >= 1.26, then run `make control-plane`)",
            skip=True,
        )
    stream = out if out is not None else sys.stderr
    stream.write(f"\n[control-plane] building missing binaries: {', '.join(missing())}\n")
    stream.flush()
    with subprocess.Popen(
        [str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            stream.write(line)
            stream.flush()
    if proc.returncode != 0 or missing():
        raise BinariesUnavailable(
            f"{BUILD_SCRIPT.relative_to(REPO)} failed (exit {proc.returncode}); "
            f"still missing: {', '.join(missing()) or 'nothing'}",
            skip=False,
        )
    return bin_dir()
