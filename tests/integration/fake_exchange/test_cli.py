"""The ``fks-fake-exchange`` command as a user runs it: start-up, shutdown, bad input."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import ccxt.async_support as ccxt
import httpx
import pytest

from tests.harness.fake_exchange import fake_exchange_process
from tests.harness.procs import ManagedProcess, free_port, wait_until

SCRIPT = Path(sys.executable).parent / "fks-fake-exchange"


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fks_fake_exchange", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_console_script_serves_and_stops_cleanly_on_sigterm() -> None:
    if not SCRIPT.exists():
        pytest.skip(f"{SCRIPT} is not installed (run `make venv`)")
    port = free_port()
    proc = ManagedProcess("fake-exchange-cli", [str(SCRIPT), "--port", str(port)])
    try:
        proc.wait_ready(lambda: "listening on" in proc.output(), timeout=30)
        assert f"listening on http://127.0.0.1:{port}" in proc.output()
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v3/ping", timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {}
        # an answer held back by a lost_answer fault must not block the shutdown
        httpx.post(
            f"http://127.0.0.1:{port}/_fake/faults",
            json={"kind": "lost_answer", "path": "/api/v3/time", "hangMs": 60_000},
            timeout=5,
        )
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"http://127.0.0.1:{port}/api/v3/time", timeout=0.5)
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert "Traceback" not in proc.output()
    finally:
        proc.stop()


def test_port_zero_reports_the_bound_port() -> None:
    proc = ManagedProcess(
        "fake-exchange-port0", [sys.executable, "-m", "fks_fake_exchange", "--port", "0"]
    )
    try:
        proc.wait_ready(lambda: "listening on" in proc.output(), timeout=30)
        line = next(ln for ln in proc.output().splitlines() if "listening on" in ln)
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        assert httpx.get(f"http://127.0.0.1:{port}/_fake/health", timeout=5).json() == {
            "status": "ok"
        }
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "markets:\n  - symbol: BTC/USDT\n    price: 68000\n    tickSzie: 0.01\n",
            "markets[0].tickSzie: unknown key",
        ),
        (
            "markets:\n  - symbol: btcusdt\n    price: 1\n",
            "markets[0].symbol: must look like BASE/QUOTE",
        ),
        (
            "markets:\n  - symbol: BTC/USDT\n    price: 68000.001\n    tickSize: 0.01\n",
            "not a multiple of tickSize",
        ),
        ("balances: {USDT: -5}\n", "balances.USDT: Input should be greater than or equal to 0"),
        ("apiKeys: []\n", "apiKeys: Tuple should have at least 1 item"),
        ("[1, 2", "not valid YAML/JSON"),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_bad_config_is_one_clear_error_and_exit_2(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "exchange.yaml"
    path.write_text(content)
    result = _run("--config", str(path), "--port", str(free_port()))
    assert result.returncode == 2
    assert expected in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_and_bad_arguments(tmp_path: Path) -> None:
    missing = _run("--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    bad_port = _run("--port", "70000")
    assert bad_port.returncode == 2
    assert "port must be between 0 and 65535" in bad_port.stderr
    half_credentials = _run("--api-key", "k")
    assert half_credentials.returncode == 2
    assert "--api-key and --secret go together" in half_credentials.stderr
    bad_seed = _run("--seed-markets", "DOGE/USDT")
    assert bad_seed.returncode == 2
    assert "give its price: DOGE/USDT=PRICE" in bad_seed.stderr


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_print_config_masks_secrets() -> None:
    result = _run("--print-config", "--api-key", "my-key", "--secret", "my-very-secret")
    assert result.returncode == 0
    assert "my-key" in result.stdout
    assert "my-very-secret" not in result.stdout
    assert "symbol: BTC/USDT" in result.stdout


async def test_config_file_markets_balances_and_keys() -> None:
    config = {
        "apiKeys": [{"key": "team-key", "secret": "team-secret"}],
        "balances": {"USDT": 500},
        "markets": [
            {
                "symbol": "DOGE/USDT",
                "price": "0.15",
                "tickSize": "0.00001",
                "stepSize": "1",
                "minQty": "10",
                "minNotional": "1",
            }
        ],
    }
    with fake_exchange_process(config, api_key="team-key", secret="team-secret") as fx:
        async with fx.ccxt() as ex:
            markets = await ex.load_markets()
            assert list(markets) == ["DOGE/USDT"]
            assert markets["DOGE/USDT"]["limits"]["amount"]["min"] == 10
            assert (await ex.fetch_balance())["USDT"]["free"] == 500
            with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # 5 < minQty 10
                await ex.create_order("DOGE/USDT", "limit", "buy", 5, 0.14)
            order = await ex.create_order("DOGE/USDT", "market", "buy", 100)
            assert order["cost"] == 15
        async with fx.ccxt(apiKey="fks-fake-exchange-test-key") as ex:
            await ex.load_markets()
            with pytest.raises(ccxt.AuthenticationError):
                await ex.fetch_balance()


async def test_seed_markets_keeps_known_filters_and_derives_new_ones() -> None:
    with fake_exchange_process(seed_markets="BTC/USDT=70000,PEPE/USDT=0.00001234") as fx:
        async with fx.ccxt() as ex:
            markets = await ex.load_markets()
            assert set(markets) == {"BTC/USDT", "PEPE/USDT"}
            assert markets["BTC/USDT"]["precision"]["amount"] == 0.00001
            assert markets["PEPE/USDT"]["precision"]["price"] == 1e-08
            assert markets["PEPE/USDT"]["precision"]["amount"] == 1
            assert (await ex.fetch_ticker("PEPE/USDT"))["last"] == 0.00001234
            assert (await ex.fetch_ticker("BTC/USDT"))["last"] == 70_000


def test_control_api_refuses_bad_bodies_with_a_reason() -> None:
    with fake_exchange_process() as fx:
        base = f"{fx.base_url}/_fake"
        cases = [
            ("/faults", {"kind": "explode"}, "kind: Input should be"),
            ("/faults", {"kind": "latency"}, "needs delayMs > 0"),
            ("/faults", {"kind": "reject"}, "needs a preset, or both code and msg"),
            ("/faults", {"kind": "drop", "path": "api/v3/order"}, "must start with '/'"),
            ("/faults", {"kind": "drop", "colour": "red"}, "colour: unknown key"),
            ("/prices", {"prices": {"NOPE/USDT": "1"}}, "unknown symbol 'NOPE/USDT'"),
            ("/prices", {"prices": {"BTC/USDT": "68000.001"}}, "not a multiple of its tickSize"),
            ("/prices", {"prices": {"BTC/USDT": "-1"}}, "greater than 0"),
            ("/balances", {"balances": {"usdt": "1"}}, "must be capitals"),
            ("/clock", {"offsetMs": "soon"}, "offsetMs"),
        ]
        for path, body, expected in cases:
            answer = httpx.post(base + path, json=body, timeout=5)
            assert answer.status_code == 400, (path, body)
            assert expected in answer.json()["error"], (path, body, answer.json())
        not_json = httpx.post(base + "/faults", content=b"{", timeout=5)
        assert not_json.status_code == 400
        assert httpx.delete(base + "/faults/999", timeout=5).status_code == 404
        # nothing of the above changed the exchange
        assert fx.prices()["BTCUSDT"] == 68_000
        assert fx.faults() == []
        state = fx.state()
        assert (state["openOrders"], state["clockOffsetMs"]) == (0, 0)
        assert state["balances"]["spot"]["USDT"] == {"free": "10000", "locked": "0"}


def test_unknown_paths_and_methods_answer_like_a_web_server() -> None:
    with fake_exchange_process() as fx:
        assert httpx.get(f"{fx.base_url}/api/v3/nope", timeout=5).status_code == 404
        assert httpx.put(f"{fx.base_url}/api/v3/order", timeout=5).status_code == 405
        answer = httpx.get(f"{fx.base_url}/api/v3/ticker/price?symbol=NOPE", timeout=5)
        assert answer.status_code == 400
        assert answer.json() == {"code": -1121, "msg": "Invalid symbol."}
        # the unsigned account endpoint: Binance's missing-key answer
        answer = httpx.get(f"{fx.base_url}/api/v3/account", timeout=5)
        assert answer.status_code == 401
        assert answer.json()["code"] == -2014
        wait_until(fx.healthy, timeout=5)
        logged = json.dumps(fx.requests())
        assert "signature" not in logged


def test_venue_flag_chooses_the_api_served() -> None:
    with fake_exchange_process(venue="bybit", seed_markets="BTC/USDT=70000") as fx:
        answer = httpx.get(f"{fx.base_url}/v5/market/tickers?category=spot", timeout=5).json()
        assert answer["retCode"] == 0
        assert [t["lastPrice"] for t in answer["result"]["list"]] == ["70000"]
        # one venue per process: Binance's paths are not served here
        assert httpx.get(f"{fx.base_url}/api/v3/ping", timeout=5).status_code == 404
    with fake_exchange_process() as fx:
        assert httpx.get(f"{fx.base_url}/v5/market/time", timeout=5).status_code == 404


def test_unknown_venue_is_refused() -> None:
    result = _run("--venue", "kraken")
    assert result.returncode == 2
    assert "invalid choice: 'kraken'" in result.stderr
    assert "Traceback" not in result.stderr
