"""Start real local processes for tests: free loopback ports, readiness waits, clean stops.

Every process's output goes to a log file under ``.logs/`` (kept after the run, so a failed
test can be diagnosed); ``ManagedProcess.tail()`` returns the end of it for assertion messages.

A process started here dies with the process that started it, even when that one is killed
with SIGKILL (a test session or ``make demo`` killed hard): it is started through util-linux's
``setpriv --pdeathsig TERM``, so the kernel sends it SIGTERM when its parent dies (once
setpriv has run: a parent killed within the first milliseconds can still leave it). Only
``make cluster-up``'s control plane, meant to outlive the command, opts out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = Path(os.environ.get("FKS_TEST_LOG_DIR", REPO / ".logs"))
SETPRIV = shutil.which("setpriv")  # util-linux: on every Debian (and most Linux) systems


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class ManagedProcess:
    """A subprocess with its own log file and process group; stop() never leaves strays."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        die_with_parent: bool = True,
    ) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if die_with_parent and SETPRIV:
            # setpriv sets the parent-death signal and execs argv: same pid, same binary
            argv = [SETPRIV, "--pdeathsig", "TERM", "--", *argv]
        self.name = name
        self.log_path = LOG_DIR / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(
            list(argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready:\n"
                    f"{self.tail()}"
                )
            if check():
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def kill9(self) -> None:
        """SIGKILL the whole process group (a crash, not a shutdown)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        # Reap anything left in the group (children that ignored SIGTERM).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode


@contextlib.contextmanager
def managed(
    name: str,
    argv: Sequence[str],
    *,
    ready: Callable[[], bool] | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[ManagedProcess]:
    proc = ManagedProcess(name, argv, env=env, cwd=cwd)
    try:
        if ready is not None:
            proc.wait_ready(ready, timeout=timeout)
        yield proc
    finally:
        proc.stop()
