"""``python -m tests.harness.controlplane up|down|status|measure`` (``make cluster-up/down``).

- ``up``: builds missing binaries, starts a plane under ``.cluster/dev`` and leaves it running in
  the background (each component in its own session; pids in ``.cluster/dev/state.json``), writes
  ``.cluster/kubeconfig`` and prints ``export KUBECONFIG=...``. A plane already up is reused.
  ``--foreground`` keeps it attached until Ctrl-C instead.
- ``down``: stops the processes recorded in state.json (checking each pid still runs the binary
  it started, so a recycled pid is never signalled) and deletes the etcd data; logs are kept.
- ``status``: liveness, pid and memory of each component, and the API server's /readyz.
- ``measure``: starts and stops fresh planes N times and prints warm start time and memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import ssl
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tests.harness import kube_binaries
from tests.harness.controlplane import (
    CLUSTER_ROOT,
    ControlPlane,
    ControlPlaneError,
    _get,
    new_run_dir,
    rss_of,
)

DEV_RUN_DIR = CLUSTER_ROOT / "dev"
KUBECONFIG_LINK = CLUSTER_ROOT / "kubeconfig"
MIB = 1024 * 1024


def _state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "state.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _runs_binary(pid: int, binary: str) -> bool:
    """True when ``pid`` is alive and executes ``binary`` (guards against recycled pids)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    zombie = any(
        line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines()
    )
    return not zombie and exe.removesuffix(" (deleted)") == str(Path(binary).resolve())


def _alive(state: dict[str, Any]) -> dict[str, bool]:
    return {name: _runs_binary(pid, state["binaries"][name]) for name, pid in state["pids"].items()}


def stop_detached(run_dir: Path, timeout: float = 15.0) -> list[str]:
    """Stop the components recorded in ``run_dir/state.json``; returns the names signalled."""
    state = _state(run_dir)
    if state is None:
        return []
    stopped = []
    for name, pid in reversed(list(state["pids"].items())):
        if not _runs_binary(pid, state["binaries"][name]):
            continue
        stopped.append(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _runs_binary(pid, state["binaries"][name]) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(run_dir / "etcd-data", ignore_errors=True)
    (run_dir / "state.json").rename(run_dir / "state.stopped.json")
    return stopped


def _ensure_binaries() -> None:
    try:
        kube_binaries.ensure_built(sys.stderr)
    except kube_binaries.BinariesUnavailable as exc:
        raise SystemExit(f"cannot start the control plane: {exc}") from exc


def _print_memory(rss: dict[str, int]) -> None:
    parts = ", ".join(f"{name} {value / MIB:.0f}" for name, value in rss.items())
    print(f"memory (RSS, MiB): total {sum(rss.values()) / MIB:.0f} ({parts})")


def _kubeconfig_path(run_dir: Path) -> Path:
    """``.cluster/kubeconfig`` (a symlink) for the default run dir, else the run dir's own."""
    return KUBECONFIG_LINK if run_dir == DEV_RUN_DIR else run_dir / "kubeconfig"


def cmd_up(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    state = _state(run_dir)
    if state is not None:
        if all(_alive(state).values()):
            print(f"control plane already running at {state['server']}")
            print(f"export KUBECONFIG={_kubeconfig_path(run_dir)}")
            return 0
        print("cleaning up a control plane that is no longer complete...", file=sys.stderr)
        stop_detached(run_dir)
    _ensure_binaries()
    plane = ControlPlane(run_dir, nodes=args.nodes, detached=True)
    print(f"starting the control plane in {run_dir} ...", file=sys.stderr)
    try:
        cluster = plane.start()
    except ControlPlaneError as exc:
        print(exc, file=sys.stderr)
        return 1
    if run_dir == DEV_RUN_DIR:
        KUBECONFIG_LINK.unlink(missing_ok=True)
        KUBECONFIG_LINK.symlink_to(cluster.kubeconfig.relative_to(CLUSTER_ROOT))
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in plane.phases.items())
    print(f"control plane ready at {cluster.server} in {plane.startup_seconds:.1f}s ({phases})")
    _print_memory(plane.rss_bytes())
    print(f"fake nodes: {', '.join(plane.nodes)}; users: {', '.join(cluster.users)} (tokens in "
          f"{run_dir / 'state.json'}); logs: {run_dir / 'logs'}")  # fmt: skip
    print(f"kubectl: {cluster.kubectl_path}")
    print(f"export KUBECONFIG={_kubeconfig_path(run_dir)}")
    if not args.foreground:
        print("running in the background; stop it with: make cluster-down", file=sys.stderr)
        return 0
    print("running in the foreground; Ctrl-C stops it", file=sys.stderr)
    try:
        while all(p.alive() for p in plane.procs.values()):
            time.sleep(1)
        print("a component exited; stopping the control plane", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    plane.stop()
    (run_dir / "state.json").unlink(missing_ok=True)
    if run_dir == DEV_RUN_DIR:
        KUBECONFIG_LINK.unlink(missing_ok=True)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    stopped = stop_detached(run_dir)
    if run_dir == DEV_RUN_DIR:
        KUBECONFIG_LINK.unlink(missing_ok=True)
    if stopped:
        print(f"stopped {', '.join(stopped)}; logs kept in {run_dir / 'logs'}")
    else:
        print("no control plane was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    state = _state(run_dir)
    if state is None:
        print("no control plane running (start one with: make cluster-up)")
        return 1
    alive = _alive(state)
    rss = {}
    for name, pid in state["pids"].items():
        rss[name] = rss_of(pid) if alive[name] else 0
        print(f"{name:<24} pid {pid:<8} {'running' if alive[name] else 'NOT RUNNING'}")
    ctx = ssl.create_default_context(cafile=state["ca"])
    readyz = _get(f"{state['server']}/readyz", ctx, None)
    print(f"api server {state['server']} /readyz: {readyz or 'unreachable'}")
    _print_memory(rss)
    print(f"export KUBECONFIG={_kubeconfig_path(run_dir)}")
    return 0 if all(alive.values()) and readyz == 200 else 1


def cmd_measure(args: argparse.Namespace) -> int:
    _ensure_binaries()
    starts, stops, totals = [], [], []
    for i in range(args.runs):
        plane = ControlPlane(new_run_dir("measure", keep=2))
        try:
            plane.start()
        except ControlPlaneError as exc:
            print(exc, file=sys.stderr)
            return 1
        assert plane.startup_seconds is not None
        starts.append(plane.startup_seconds)
        time.sleep(args.settle)
        rss = plane.rss_bytes()
        totals.append(sum(rss.values()))
        t = time.monotonic()
        plane.stop()
        stops.append(time.monotonic() - t)
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in plane.phases.items())
        print(f"run {i + 1}: start {starts[-1]:.1f}s ({phases}); stop {stops[-1]:.1f}s")
        _print_memory(rss)
    print(
        f"warm start over {args.runs} runs: median {statistics.median(starts):.1f}s, "
        f"min {min(starts):.1f}s, max {max(starts):.1f}s (target <= 30s); "
        f"stop median {statistics.median(stops):.1f}s; "
        f"RSS after {args.settle:.0f}s median {statistics.median(totals) / MIB:.0f} MiB"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.controlplane")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local control plane in the background")
    up.add_argument("--nodes", type=int, default=3, help="number of fake (kwok) nodes")
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop it")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="show its components")
    status.set_defaults(func=cmd_status)
    for command in (up, down, status):
        command.add_argument(
            "--run-dir", type=lambda p: Path(p).resolve(), default=DEV_RUN_DIR,
            help=f"state directory (default {DEV_RUN_DIR.relative_to(CLUSTER_ROOT.parent)})",
        )  # fmt: skip
    measure = sub.add_parser("measure", help="measure warm start time and memory")
    measure.add_argument("--runs", type=int, default=3)
    measure.add_argument("--settle", type=float, default=10.0, help="seconds before reading RSS")
    measure.set_defaults(func=cmd_measure)
    args = parser.parse_args(argv)
    if getattr(args, "nodes", 1) < 1 or getattr(args, "runs", 1) < 1:
        parser.error("--nodes and --runs must be at least 1")
    result: int = args.func(args)
    return result
