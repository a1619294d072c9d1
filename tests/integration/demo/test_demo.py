"""``make demo`` end to end, as a user runs it: ``python -m hack.demo`` as a process.

- ``--once``: both sample alerts answered 200 ``dry_run``, their audit lines, the pipeline Ready
  in ``kubectl get fks``, no order at the fake exchange, no secret in the output, and every
  process it started gone afterwards.
- Ctrl-C while it waits (SIGINT to its process group, as a terminal sends it): a clean
  teardown, exit 0, nothing left running — also when started as a background job of a
  non-interactive shell, which inherits SIGINT ignored (``make demo &`` in a script).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness import kube_binaries

REPO = Path(__file__).resolve().parents[3]
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")  # the shape of the demo's webhook secret

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(autouse=True, scope="module")
def _binaries() -> None:
    if kube_binaries.missing() and shutil.which("go") is None:
        pytest.skip(
            "the control-plane binaries are not built and Go is not installed "
            "(hack/control-plane/build.sh builds them from Go modules)"
        )


def _stat(pid: int) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): a process, not a pid number that may be reused."""
    stat = _stat(pid)
    return (pid, stat[1][19]) if stat is not None else None


def _alive(identity: tuple[int, str]) -> str | None:
    """The command name while that very process runs (zombies count as gone)."""
    stat = _stat(identity[0])
    if stat is None or stat[1][0] == "Z" or stat[1][19] != identity[1]:
        return None
    return stat[0]


@dataclass
class Run:
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    seen: set[tuple[int, str]] = field(default_factory=set)  # every descendant observed

    def descendants(self) -> set[tuple[int, str]]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            stat = _stat(int(entry.name)) if entry.name.isdigit() else None
            if stat is not None:
                children.setdefault(int(stat[1][1]), []).append(int(entry.name))
        found, todo = set(), [self.proc.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                identity = _identity(child)
                if identity is not None:
                    found.add(identity)
                todo.append(child)
        return found

    def __post_init__(self) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, predicate: Callable[[str], bool], timeout: float) -> None:
        """Collect output lines (sampling descendants) until one matches or the output ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.seen |= self.descendants()
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                return
            self.output.append(line)
            if predicate(line):
                return
        raise AssertionError(f"timed out; demo output so far:\n{self.text}")

    def finish(self, timeout: float) -> int:
        self.read_until(lambda _: False, timeout)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        """After a failed test: nothing the demo started may outlive it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        for identity in self.seen:
            if _alive(identity):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(identity[0], signal.SIGKILL)
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def left_running(self) -> list[str]:
        return [f"{i[0]} {name}" for i in sorted(self.seen) if (name := _alive(i))]


@pytest.fixture
def start_demo() -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(*args: str, sigint_ignored: bool = False) -> Run:
        run = Run(_popen(*args, sigint_ignored=sigint_ignored))
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()


#: Exec the demo with SIGINT ignored, as `sh -c 'make demo & ...'` starts a background job.
_SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, '-m', 'hack.demo', *sys.argv[1:]])"
)


def _popen(*args: str, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    start = ["-c", _SIGINT_IGNORED] if sigint_ignored else ["-m", "hack.demo"]
    return subprocess.Popen(
        [sys.executable, *start, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a shell job
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_demo_once_answers_both_alerts_and_leaves_nothing_running(
    tmp_path: Path, start_demo: Callable[..., Run]
) -> None:
    summary_path = tmp_path / "summary.json"
    run = start_demo("--once", "--summary", str(summary_path))
    code = run.finish(timeout=360)
    assert code == 0, run.text
    summary: dict[str, Any] = json.loads(summary_path.read_text())

    alerts = summary["alerts"]
    assert [a["title"].split(":")[0] for a in alerts] == ["TradingView-style alert", "signed alert"]
    for alert in alerts:
        assert alert["exit_code"] == 0, run.text
        assert alert["answer"]["status"] == "dry_run", alert
        assert alert["answer"]["order"]["dry_run"] is True
        assert alert["answer"]["order"]["symbol"] == "BTC/USDT"
    ids = [a["answer"]["signal_id"] for a in alerts]
    assert ids == ["demo-tradingview-1", "demo-signed-1"]

    decisions = [(e["signal_id"], e["decision"]) for e in summary["audit"]]
    for signal_id in ids:
        assert (signal_id, "accepted") in decisions
        assert (signal_id, "dry_run") in decisions
    for event in summary["audit"]:
        assert event["pipeline"] == "btc-momentum"
        assert "passphrase" not in event

    rows = [line.split() for line in summary["get_fks"].splitlines()]
    pipeline_row = next(r for r in rows if r and r[0].startswith("executionpipeline."))
    assert pipeline_row[1:3] == ["dry-run", "True"], summary["get_fks"]
    account_row = next(r for r in rows if r and r[0].startswith("exchangeaccount."))
    assert "True" in account_row
    assert summary["pipeline_ready"] is True
    assert summary["exchange_orders"] == 0  # dry-run: nothing reached the exchange

    # what the user sees
    for expected in (
        "✓ btc-momentum Ready: 1/1 executor pods ready",
        "send: HTTP 200 dry_run",
        "kubectl get fks -n fks-demo -o wide",
        "none left running",
    ):
        assert expected in run.text
    assert not HEX64.search(run.text), "something secret-shaped was printed"
    assert summary["left_running"] == []
    assert run.seen, "no process was observed"
    assert run.left_running() == []
    assert summary["seconds"] < 300


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "background-job"])
def test_ctrl_c_while_waiting_tears_everything_down(
    start_demo: Callable[..., Run], sigint_ignored: bool
) -> None:
    run = start_demo(sigint_ignored=sigint_ignored)
    run.read_until(lambda line: "Ctrl-C stops everything." in line, timeout=360)
    assert run.proc.poll() is None, run.text
    started = time.monotonic()
    os.killpg(run.proc.pid, signal.SIGINT)
    code = run.finish(timeout=90)
    assert code == 0, run.text
    assert "■ Ctrl-C: stopping" in run.text
    assert "none left running" in run.text
    assert run.left_running() == []
    assert time.monotonic() - started < 60
