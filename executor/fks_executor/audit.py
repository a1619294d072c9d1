"""The audit trail: one JSON line per decision, on stdout or appended to ``audit.path``.

Fields, always present and in this order: ``time`` (UTC, ISO 8601 with milliseconds),
``pipeline``, ``signal_id``, ``account``, ``symbol``, ``decision``, ``reason``, ``order_id``;
then, when known, ``source`` (client address), ``http_status`` and ``detail``.

Decisions: ``accepted`` (journaled, about to execute), ``rejected``, ``ignored``,
``duplicate``, ``failed``, ``executed``, ``dry_run``, and the exchange layer's own
(``order_sent``, ...). Nothing that could hold a secret is ever passed in: the passphrase is
removed from the payload before intake looks at it, and ``detail`` texts never echo input.
Each line is written with one ``write(2)`` (atomic for lines under PIPE_BUF on pipes, and on
``O_APPEND`` files), so lines from concurrent writers never interleave.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson

from fks_executor.metrics import Metrics

__all__ = ["AuditLog"]


_second: tuple[int, str] = (-1, "")


def _utc(now: float) -> str:
    global _second
    seconds = int(now)
    if _second[0] != seconds:
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{int((now - seconds) * 1000):03d}Z"


class AuditLog:
    def __init__(self, path: str, pipeline: str, metrics: Metrics | None = None) -> None:
        self.path = path
        self.pipeline = pipeline
        self._metrics = metrics
        self._counters: dict[str, Any] = {}
        self._owned = False
        self._fd = -1
        self._open()

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
        self._write(line)
        if self._metrics is not None:
            counter = self._counters.get(decision)
            if counter is None:
                counter = self._metrics.audit_events.labels(type=decision)
                self._counters[decision] = counter
            counter.inc()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._owned and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._owned = False
