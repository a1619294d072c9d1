"""The audit trail: one JSON line per decision, on stdout or appended to ``audit.path``.

Fields, always present and in this order: ``time`` (UTC, ISO 8601 with milliseconds),
``pipeline``, ``signal_id``, ``account``, ``symbol``, ``decision``, ``reason``, ``order_id``;
then, when known, ``source`` (client address), ``http_status`` and ``detail``.

Decisions: ``accepted`` (journaled, about to execute), ``rejected``, ``ignored``,
``duplicate``, ``failed``, ``executed``, ``dry_run``, and the exchange layer's own
(``order_sent``, ...). Nothing that could hold a secret is ever passed in: the passphrase is
removed from the payload before intake looks at it, and ``detail`` texts never echo input.
Lines recorded during one event-loop iteration are written together at its end, in
``write(2)`` calls of whole lines of at most PIPE_BUF (4 KiB) bytes each (a longer line goes
alone): atomic on pipes and on ``O_APPEND`` files, so lines from concurrent writers never
interleave, at one system call per batch instead of per line (a busy executor records three
lines per alert). The webhook flushes before it answers, so an alert's lines are written
before the caller sees the answer; lines from background work are written when the loop turns.
Outside a running loop (start-up, shutdown) a line is written at once, and ``close()`` writes
whatever is pending.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from fks_executor.metrics import Metrics

__all__ = ["AuditLog"]


_PIPE_BUF = 4096


def _utc(now: float) -> str:
    """``now`` as ISO 8601 UTC with milliseconds."""
    seconds, millis = divmod(int(now * 1000), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


class AuditLog:
    def __init__(self, path: str, pipeline: str, metrics: Metrics | None = None) -> None:
        self.path = path
        self.pipeline = pipeline
        self._metrics = metrics
        self._counters: dict[str, Any] = {}
        self._owned = False
        self._fd = -1
        self._pending: list[bytes] = []
        self._listeners: list[Callable[[Mapping[str, Any]], None]] = []
        self._open()

    def subscribe(self, listener: Callable[[Mapping[str, Any]], None]) -> None:
        """Call ``listener`` with every event recorded from now on (the notifier's seam:
        docs/notifications.md). It runs inside ``record``: it must not block or raise."""
        self._listeners.append(listener)

    def _open(self) -> None:
        if self.path:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._owned = True
        else:
            sys.stdout.flush()
            self._fd = sys.stdout.fileno()

    def record(
        self,
        decision: str,
        *,
        signal_id: str | None = None,
        account: str | None = None,
        symbol: str | None = None,
        reason: str | None = None,
        order_id: str | None = None,
        **extra: Any,
    ) -> None:
        event: dict[str, Any] = {
            "time": _utc(time.time()),
            "pipeline": self.pipeline,
            "signal_id": signal_id,
            "account": account,
            "symbol": symbol,
            "decision": decision,
            "reason": reason,
            "order_id": order_id,
        }
        for key, value in extra.items():
            if value is not None:
                event[key] = value
        line = orjson.dumps(event, default=str, option=orjson.OPT_APPEND_NEWLINE)
        for listener in self._listeners:
            listener(event)
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no running loop: nothing would flush later
                self._write(line)
                self._count(decision)
                return
        self._pending.append(line)
        self._count(decision)

    def _count(self, decision: str) -> None:
        if self._metrics is not None:
            counter = self._counters.get(decision)
            if counter is None:
                counter = self._metrics.audit_events.labels(type=decision)
                self._counters[decision] = counter
            counter.inc()

    def flush(self) -> None:
        """Write the pending lines: whole lines, at most PIPE_BUF bytes per write(2)."""
        pending, self._pending = self._pending, []
        if self._fd < 0:  # closed: nowhere to write
            return
        chunk: list[bytes] = []
        size = 0
        for line in pending:
            if chunk and size + len(line) > _PIPE_BUF:
                self._write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
        if self._owned and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._owned = False
