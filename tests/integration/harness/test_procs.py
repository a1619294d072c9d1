"""Processes the harness starts die with the process that started them, even on SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from tests.harness.procs import REPO, wait_until

PARENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from tests.harness.procs import ManagedProcess
    child = ManagedProcess(
        "orphan-check", [sys.executable, "-c", "import time; time.sleep(120)"],
        die_with_parent={die!r},
    )
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may never be reaped in a container)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def parent_and_child(die: bool) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A Python process that started a child through ``ManagedProcess``; the child's pid."""
    script = PARENT.format(repo=str(REPO), die=die)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        try:
            # setpriv sets the signal, then execs: a parent killed before that leaves the child
            # unarmed (a window of milliseconds at start-up)
            wait_until(lambda: Path(f"/proc/{child}/comm").read_text().strip() != "setpriv",
                       timeout=10, what="setpriv to exec the child")  # fmt: skip
            assert running(child)
            yield parent, child
        finally:
            parent.kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child, signal.SIGKILL)


def test_a_child_dies_when_its_parent_is_killed() -> None:
    with parent_and_child(die=True) as (parent, child):
        parent.kill()  # SIGKILL: the parent runs no cleanup at all
        parent.wait()
        wait_until(lambda: not running(child), timeout=10, what="the orphan to be stopped")


def test_a_detached_child_outlives_its_parent() -> None:
    """What ``make cluster-up`` relies on (its control plane outlives the command)."""
    with parent_and_child(die=False) as (parent, child):
        parent.kill()
        parent.wait()
        time.sleep(1)  # a parent-death signal would have arrived by now
        assert running(child)
