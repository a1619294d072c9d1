"""The response deadline and shutdown, behind a real uvicorn (as ``fks-executor`` serves):
202 at the deadline while the execution goes on in its own task, the body timeout, and what a
shutdown does to executions still running."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from fks_executor.domain import Outcome, Signal
from fks_executor.state.store import MemorySignalStore, UnabandonedWrites
from tests.unit.executor.helpers import (
    SECRET,
    SlowExecutor,
    alert,
    audit_lines,
    make_app,
    make_config,
    raw,
    serve_http,
)


def answer(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) >= {"status", "reason", "signal_id", "order"}, body
    return body


async def post(http: Any, body: dict[str, Any]) -> Any:
    return await http.post("/webhook/tradingview", content=raw(body))


async def test_past_the_deadline_202_then_the_outcome_is_recorded(tmp_path: Path) -> None:
    executor = SlowExecutor()
    app = make_app(make_config(tmp_path, responseDeadlineSeconds=0.05), executor=executor)
    async with serve_http(app) as http:
        r = await post(http, alert(id="slow"))
        assert r.status_code == 202
        assert (answer(r)["status"], answer(r)["signal_id"]) == ("accepted", "slow")
        # a redelivery while it runs is a duplicate of an accepted signal, never a 2nd call
        again = await post(http, alert(id="slow"))
        assert answer(again)["status"] == "duplicate"
        assert answer(again)["first"]["status"] == "accepted"
        auth = {"Authorization": f"Bearer {SECRET}"}
        running = (await http.get("/signals/slow", headers=auth)).json()
        assert running["state"] == "executing"
        executor.release.set()
        for _ in range(100):
            done = (await http.get("/signals/slow", headers=auth)).json()
            if done["state"] == "done":
                break
            await asyncio.sleep(0.01)
        assert done["outcome"]["status"] == "executed"
        assert len(executor.calls) == 1
        after = await post(http, alert(id="slow"))
        assert answer(after)["first"]["status"] == "executed"
        metrics = (await http.get("/metrics")).text
    # the 202 was the answer, counted once; the outcome that followed was never sent
    requests = {
        line.split('status="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("fks_webhook_requests_total{")
    }
    assert requests == {"accepted": 1, "duplicate": 2}
    decisions = [e["decision"] for e in audit_lines(tmp_path / "audit.jsonl")]
    assert decisions == ["accepted", "duplicate", "executed", "duplicate"]


async def test_shutdown_waits_for_background_executions(tmp_path: Path) -> None:
    executor = SlowExecutor()
    app = make_app(make_config(tmp_path, responseDeadlineSeconds=0.01), executor=executor)
    async with serve_http(app) as http:
        assert (await post(http, alert(id="bg"))).status_code == 202
        asyncio.get_running_loop().call_later(0.05, executor.release.set)
    # the server's shutdown waited: the outcome was audited before the app stopped
    assert audit_lines(tmp_path / "audit.jsonl")[-1]["decision"] == "executed"


async def test_a_body_that_does_not_arrive_in_time_is_refused(tmp_path: Path) -> None:
    """A sender that sends its headers and then trickles (or never sends) the body does not
    hold the request open: it is answered invalid_json once the body timeout has passed."""
    app = make_app(make_config(tmp_path))
    app.state.runtime.intake.body_timeout = 0.3
    async with serve_http(app) as http:
        host, port = http.base_url.host, http.base_url.port
        reader, writer = await asyncio.open_connection(host, port)
        started = time.monotonic()
        writer.write(
            b"POST /webhook/tradingview HTTP/1.1\r\nHost: executor\r\n"
            b"Content-Type: application/json\r\nContent-Length: 120\r\n\r\n"
            b'{"symbol": "BTCUSDT", '
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        elapsed = time.monotonic() - started
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = json.loads(await reader.readexactly(length))
        writer.close()
    assert head.startswith(b"HTTP/1.1 400 ")
    assert (body["status"], body["reason"]) == ("rejected", "invalid_json")
    assert body["detail"] == "the body did not arrive within 0.3 s"
    assert 0.3 <= elapsed < 3
    (line,) = audit_lines(tmp_path / "audit.jsonl")
    assert (line["decision"], line["reason"]) == ("rejected", "invalid_json")


async def test_shutdown_past_its_grace_leaves_the_signal_journaled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An execution still running when the server's grace period ends is stopped: nothing is
    recorded as its outcome (the next process resumes it from the journal), and it is logged."""
    executor = SlowExecutor()  # never released
    app = make_app(make_config(tmp_path, responseDeadlineSeconds=0.01), executor=executor)
    store = app.state.runtime.store
    async with serve_http(app, grace=0) as http:
        r = await post(http, alert(id="cut"))
        assert (r.status_code, answer(r)["status"]) == (202, "accepted")
    record = await store.get("cut")
    assert record is not None
    assert record.state.value == "executing"
    assert record.outcome is None
    assert "signal cut still executing was stopped; it stays journaled" in caplog.text
    decisions = [e["decision"] for e in audit_lines(tmp_path / "audit.jsonl")]
    assert decisions == ["accepted"]
    assert len(executor.calls) == 1


class CleaningUpExecutor(SlowExecutor):
    """Execution whose cancellation takes a while to unwind (an aiohttp connection released,
    a transaction rolled back); records when that ended and when the executor was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        try:
            return await super().execute(signal, resume=resume, attempted_at=attempted_at)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)
            self.events.append("execution unwound")
            raise

    async def close(self) -> None:
        self.events.append("executor closed")


async def test_shutdown_closes_nothing_under_an_execution_still_unwinding(
    tmp_path: Path,
) -> None:
    executor = CleaningUpExecutor()  # never released: cancelled at shutdown
    app = make_app(make_config(tmp_path, responseDeadlineSeconds=0.01), executor=executor)
    async with serve_http(app, grace=0) as http:
        assert (await post(http, alert(id="unwinding"))).status_code == 202
    assert executor.events == ["execution unwound", "executor closed"]


class SlowRecordingStore(MemorySignalStore):
    """A store whose outcome write takes 0.5 s, run the way durable stores run it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = UnabandonedWrites()

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        async def write() -> None:
            await asyncio.sleep(0.5)
            await MemorySignalStore.complete(self, signal_id, outcome)

        await self.writes.run(write())

    async def close(self) -> None:
        await self.writes.wait()
        await super().close()


async def test_stopped_while_recording_the_outcome_is_still_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The order went out: a shutdown that lands while its outcome is being written does not
    leave the signal to be resumed (it would look its order up again) nor out of the audit."""
    store = SlowRecordingStore()
    config = make_config(tmp_path, responseDeadlineSeconds=0.01)
    app = make_app(config, store=store)
    async with serve_http(app, grace=0) as http:
        r = await post(http, alert(id="recording"))
        assert (r.status_code, answer(r)["status"]) == (202, "accepted")
    record = await store.get("recording")
    assert record is not None
    assert record.state.value == "done"
    assert record.outcome is not None
    assert record.outcome.status == "dry_run"
    decisions = [e["decision"] for e in audit_lines(tmp_path / "audit.jsonl")]
    assert decisions == ["accepted", "dry_run"]
    assert "signal recording was stopped while its outcome (dry_run) was being recorded" in (
        caplog.text
    )
