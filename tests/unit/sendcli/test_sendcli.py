"""``fks-executor send``: alerts built from flags reach the real executor app (ASGI, lifespan
running) signed or with the passphrase, answers and exit codes, secret handling, bad input."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from fks_executor import sendcli
from fks_executor.__main__ import main as executor_main
from fks_executor.auth import sign
from tests.unit.executor.helpers import SECRET, audit_lines, make_app, make_config

URL = "http://executor/webhook/tradingview"
ENV = {"FKS_WEBHOOK_SECRET": SECRET}


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    @property
    def answer(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.out)
        return value


async def send(
    *argv: str,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: dict[str, str] | None = None,
    now: float | None = None,
) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = await sendcli.run(
        list(argv),
        environ=ENV if environ is None else environ,
        stdout=out,
        stderr=err,
        transport=transport,
        now=now,
    )
    return Result(code, out.getvalue(), err.getvalue())


@contextlib.asynccontextmanager
async def executor(app: Starlette) -> AsyncIterator[httpx.ASGITransport]:
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))


class Recorder:
    """Records the request as the wire would carry it and answers like an executor would;
    stands in for the executor where the test is about the bytes sent, not the answer."""

    def __init__(self, status: int = 200, body: bytes = b'{"status": "dry_run"}') -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.body = body

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(self.status, content=self.body)

        return httpx.MockTransport(handle)


BUY = ("--url", URL, "--symbol", "BINANCE:BTCUSDT", "--action", "buy", "--price", "68000")


# --- against the real app ------------------------------------------------------------------


async def test_token_alert_is_answered_dry_run(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, webhook={"auth": "token"}))
    async with executor(app) as transport:
        result = await send(*BUY, "--auth", "token", "--id", "tv-1", transport=transport)
    assert result.code == sendcli.EXIT_OK, result.err
    assert result.answer["status"] == "dry_run"
    assert result.answer["signal_id"] == "tv-1"
    assert result.err.strip() == "send: HTTP 200 dry_run"
    lines = audit_lines(tmp_path / "audit.jsonl")
    assert [line["decision"] for line in lines] == ["accepted", "dry_run"]
    assert SECRET not in (tmp_path / "audit.jsonl").read_text()


async def test_signed_alert_is_answered_dry_run(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, webhook={"auth": "hmac"}))
    async with executor(app) as transport:
        result = await send(
            *BUY, "--size-usd", "250", "--stop-loss", "66000", "--take-profit", "72000",
            "--confidence", "0.9", "--id", "sig-1", transport=transport,
        )  # fmt: skip
    assert result.code == sendcli.EXIT_OK, result.err
    assert result.answer["status"] == "dry_run"
    assert result.answer["order"]["amount"] == pytest.approx(250 / 68000)


async def test_wrong_secret_is_refused_401_exit_1(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, webhook={"auth": "hmac"}))
    async with executor(app) as transport:
        result = await send(
            *BUY, transport=transport, environ={"FKS_WEBHOOK_SECRET": "not-the-secret-at-all"}
        )
    assert result.code == sendcli.EXIT_ANSWER_NOT_OK
    assert result.answer["status"] == "rejected"
    assert result.answer["reason"] == "invalid_signature"
    assert result.err.startswith("send: HTTP 401 rejected / invalid_signature")


async def test_same_id_twice_is_a_duplicate(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with executor(app) as transport:
        first = await send(*BUY, "--id", "dup-1", transport=transport)
        second = await send(*BUY, "--id", "dup-1", transport=transport)
    assert first.answer["status"] == "dry_run"
    assert second.code == sendcli.EXIT_OK
    assert second.answer["status"] == "duplicate"


async def test_stale_timestamp_is_refused_by_the_executor(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with executor(app) as transport:
        result = await send(*BUY, "--timestamp", "2020-01-01T00:00:00Z", transport=transport)
    assert result.code == sendcli.EXIT_ANSWER_NOT_OK
    assert result.answer["reason"] == "stale"


# --- the bytes on the wire -----------------------------------------------------------------


async def test_hmac_request_signs_exactly_the_body_sent() -> None:
    recorder = Recorder()
    result = await send(*BUY, "--id", "x", transport=recorder.transport(), now=1_700_000_000.7)
    assert result.code == 0
    (request,) = recorder.requests
    assert request.url == URL
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-webhook-signature"] == "sha256=" + sign(request.content, SECRET)
    body = json.loads(request.content)
    assert body == {
        "symbol": "BINANCE:BTCUSDT",
        "action": "buy",
        "price": 68000,
        "id": "x",
        "timestamp": 1_700_000_000,
    }
    assert SECRET.encode() not in request.content


async def test_token_request_is_text_plain_with_the_passphrase_like_tradingview() -> None:
    recorder = Recorder()
    await send(*BUY, "--auth", "token", transport=recorder.transport())
    (request,) = recorder.requests
    assert request.headers["content-type"].startswith("text/plain")
    assert "x-webhook-signature" not in request.headers
    assert json.loads(request.content)["passphrase"] == SECRET


async def test_url_without_a_path_gets_the_webhook_path() -> None:
    recorder = Recorder()
    await send(*BUY, "--url", "http://executor:8000", transport=recorder.transport())
    assert str(recorder.requests[0].url) == "http://executor:8000/webhook/tradingview"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (None, 1_700_000_000),
        ("now", 1_700_000_000),
        ("1699999999", 1_699_999_999),
        ("1699999999123", 1_699_999_999_123),
        ("2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z"),
    ],
)
async def test_timestamp_forms(given: str | None, sent: object) -> None:
    recorder = Recorder()
    extra = ("--timestamp", given) if given is not None else ()
    await send(*BUY, *extra, transport=recorder.transport(), now=1_700_000_000.2)
    assert json.loads(recorder.requests[0].content)["timestamp"] == sent


async def test_answer_that_is_not_json_exits_1_with_the_text() -> None:
    recorder = Recorder(status=502, body=b"<html>bad gateway</html>")
    result = await send(*BUY, transport=recorder.transport())
    assert result.code == sendcli.EXIT_ANSWER_NOT_OK
    assert result.out == ""
    assert "HTTP 502 (not a JSON answer): <html>bad gateway</html>" in result.err


# --- secrets -------------------------------------------------------------------------------


async def test_dry_print_reads_no_secret_and_shows_none() -> None:
    for auth in ("hmac", "token"):
        result = await send(*BUY, "--auth", auth, "--dry-print", environ=ENV)
        assert result.code == 0
        assert SECRET not in result.out
        assert result.out.startswith(f"POST {URL}\n")
    result = await send(*BUY, "--auth", "token", "--dry-print", environ={})
    assert result.code == 0
    body = json.loads(result.out.split("\n\n", 1)[1])
    assert body["passphrase"] == "<the secret from $FKS_WEBHOOK_SECRET>"


async def test_secret_file_and_secret_env(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    recorder = Recorder()
    assert (await send(*BUY, "--secret-file", str(path), transport=recorder.transport(),
                       environ={})).code == 0  # fmt: skip
    assert (await send(*BUY, "--secret-env", "MY_SECRET", transport=recorder.transport(),
                       environ={"MY_SECRET": SECRET})).code == 0  # fmt: skip
    for request in recorder.requests:
        assert request.headers["x-webhook-signature"] == "sha256=" + sign(request.content, SECRET)


async def test_secret_flag_works_with_a_warning() -> None:
    result = await send(*BUY, "--secret", SECRET, transport=Recorder().transport(), environ={})
    assert result.code == 0
    assert "warning: --secret puts the secret in your shell history" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "send: no secret: $FKS_WEBHOOK_SECRET is not set"),
        (("--secret-env", "NOPE"), "send: no secret: $NOPE is not set"),
        (("--secret-file", "/nonexistent/s"), "send: --secret-file /nonexistent/s: No such file"),
    ],
)
async def test_missing_secret_exits_2_before_sending(args: tuple[str, ...], message: str) -> None:
    recorder = Recorder()
    result = await send(*BUY, *args, transport=recorder.transport(), environ={})
    assert result.code == sendcli.EXIT_USAGE
    assert result.err.startswith(message)
    assert recorder.requests == []


async def test_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("\n")
    result = await send(*BUY, "--secret-file", str(tmp_path / "s"), environ={})
    assert result.code == sendcli.EXIT_USAGE
    assert "empty" in result.err


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--price", "0"), "argument --price: must be a number > 0"),
        (("--price", "abc"), "argument --price: not a number"),
        (("--confidence", "1.5"), "argument --confidence: must be between 0 and 1"),
        (("--amount", "1", "--size-usd", "5"), "not allowed with argument"),
        (("--url", "ftp://x"), "send: --url: expected http(s)://HOST[:PORT][/PATH]"),
        (("--url", "http://x:99999"), "send: --url: bad port"),
        (("--timestamp", "yesterday"), "send: --timestamp: must be unix seconds"),
        (("--id", "x" * 65), "send: --id: 1 to 64 characters"),
        (("--symbol", "BTC USDT"), "send: --symbol: not a symbol"),
        (("--action", "hold"), "send: --action: must be one of buy, sell, close"),
        (("--auth", "basic"), "argument --auth: invalid choice"),
    ],
)
async def test_bad_flags_exit_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    recorder = Recorder()
    result = await send(*BUY, *args, transport=recorder.transport())
    assert result.code == sendcli.EXIT_USAGE
    assert message in result.err
    assert recorder.requests == []


# --- no answer -----------------------------------------------------------------------------


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port


async def test_connection_refused_is_one_line_exit_3() -> None:
    with closed_port() as port:
        result = await send(*BUY, "--url", f"http://127.0.0.1:{port}")
    assert result.code == sendcli.EXIT_UNREACHABLE
    assert result.err == (
        f"send: cannot connect to http://127.0.0.1:{port}/webhook/tradingview: "
        "connection refused (is the executor running?)\n"
    )


async def test_no_answer_times_out_exit_3() -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = await send(*BUY, "--url", f"http://127.0.0.1:{port}", "--timeout", "0.3")
    assert result.code == sendcli.EXIT_UNREACHABLE
    assert result.err.startswith(f"send: no answer from http://127.0.0.1:{port}/webhook")
    assert time.monotonic() - started < 5


# --- the subcommand ------------------------------------------------------------------------


def test_fks_executor_send_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        executor_main(["send", *BUY, "--dry-print"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"POST {URL}\n")
