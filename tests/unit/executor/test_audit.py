"""Audit lines of one event-loop iteration reach the file in few whole-line writes."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from fks_executor.audit import AuditLog


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_lines_of_one_iteration_are_written_together_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path), "p")
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes | memoryview) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    for i in range(100):  # ~130 bytes each: more than one PIPE_BUF in all
        audit.record("accepted", signal_id=f"s{i}", detail="x" * 40)
    assert path.read_text() == ""  # nothing written until the loop turns
    await asyncio.sleep(0)
    audit.close()

    assert [e["signal_id"] for e in _lines(path)] == [f"s{i}" for i in range(100)]
    assert 1 < len(writes) < 10
    for chunk in writes:
        assert len(chunk) <= 4096
        assert chunk.endswith(b"\n")  # whole lines only: never a line split across writes


def test_outside_a_loop_each_line_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path), "p")
    audit.record("rejected", signal_id="a", reason="stale")
    assert _lines(path)[0]["reason"] == "stale"
    audit.close()


async def test_close_writes_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path), "p")
    audit.record("dry_run", signal_id="z")
    audit.close()
    assert _lines(path)[0]["signal_id"] == "z"
