"""The fake Binance exchange as a real process, with a typed client for its control API.

Use it in three ways:

- ``with fake_exchange_process() as fx:`` starts ``fks-fake-exchange`` on a free loopback port
  (optionally with a config mapping, ``seed_markets`` or credentials) and stops it afterwards;
- the ``fake_exchange`` pytest fixture: one server per test session, reset before each test
  (register it with ``pytest_plugins = ["tests.harness.fake_exchange"]`` in a conftest, or import
  the two fixtures);
- ``FakeExchangeClient(base_url)`` to drive the control API of a server started elsewhere.

``FakeExchange.ccxt()`` gives a real ``ccxt.async_support.binance`` pointed at the server (spot-only
market loading, no rate limiter) and closes it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fks_fake_exchange.config import DEFAULT_API_KEY, DEFAULT_SECRET
from tests.harness.procs import ManagedProcess, free_port

Number = Decimal | int | float | str
SPOT_ONLY_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


class FakeExchangeError(RuntimeError):
    """The control API refused a request (the message is its ``error`` text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control API {status}: {message}")
        self.status = status
        self.message = message


@dataclass
class FakeExchangeClient:
    """Typed access to ``/_fake/*`` (see docs/fake-exchange.md)."""

    base_url: str
    timeout: float = 10.0

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Any:
        response = httpx.request(
            method,
            f"{self.base_url}/_fake{path}",
            json=dict(body) if body is not None else None,
            params=dict(query) if query else None,
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise FakeExchangeError(response.status_code, message)
        return response.json()

    # --- state -----------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/health").get("status") == "ok")
        except (httpx.HTTPError, FakeExchangeError):
            return False

    def reset(self) -> None:
        """Back to the start-up config: prices, balances, no orders/faults, counters at 0."""
        self._call("POST", "/reset")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def set_price(self, symbol: str, price: Number) -> None:
        """Move ``symbol`` (``BTC/USDT`` or ``BTCUSDT``); resting orders it reaches fill/trigger."""
        self.set_prices({symbol: price})

    def set_prices(self, prices: Mapping[str, Number]) -> None:
        self._call("POST", "/prices", {"prices": {s: str(p) for s, p in prices.items()}})

    def prices(self) -> dict[str, Decimal]:
        return {s: Decimal(p) for s, p in self._call("GET", "/prices")["prices"].items()}

    def set_balances(
        self, balances: Mapping[str, Number], *, account: str = "spot", replace: bool = False
    ) -> None:
        """Set free amounts (``account`` ``spot`` or ``futures``); ``replace`` zeroes the rest."""
        self._call(
            "POST",
            "/balances",
            {
                "balances": {a: str(v) for a, v in balances.items()},
                "account": account,
                "replace": replace,
            },
        )

    def balances(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/balances")
        return result

    def spot_balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """(free, locked) of a spot asset."""
        entry = self.balances()["spot"].get(asset, {"free": "0", "locked": "0"})
        return Decimal(entry["free"]), Decimal(entry["locked"])

    # --- orders and counters -------------------------------------------------------------------

    def orders(
        self,
        *,
        client_order_id: str | None = None,
        symbol: str | None = None,
        status: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every order the exchange recorded (spot, futures, futures-algo), oldest first."""
        query = {
            k: v
            for k, v in {
                "clientOrderId": client_order_id,
                "symbol": symbol,
                "status": status,
                "account": account,
            }.items()
            if v is not None
        }
        result: list[dict[str, Any]] = self._call("GET", "/orders", query=query)["orders"]
        return result

    def order_count(self, **filters: str) -> int:
        return len(self.orders(**filters))

    def trades(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/trades")["trades"]
        return result

    def stats(self) -> dict[str, Any]:
        """requests, orderRequests, ordersCreated, ordersRejected, faultsFired, byEndpoint."""
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def requests(
        self, *, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        """The exchange-API request log (newest last; signature removed)."""
        query = {k: v for k, v in {"method": method, "path": path}.items() if v is not None}
        result: list[dict[str, Any]] = self._call("GET", "/requests", query=query)["requests"]
        return result

    # --- faults and clock ------------------------------------------------------------------------

    def add_fault(self, kind: str, **spec: Any) -> int:
        """Arm a fault (``latency``, ``http_error``, ``rate_limit``, ``ban``, ``reject``, ``drop``,
        ``lost_answer``) with camelCase options (``path``, ``method``, ``count``, ``skip``,
        ``delayMs``, ``status``, ``preset``, ``mode``, ``hangMs`` ...); returns its id."""
        result = self._call("POST", "/faults", {"kind": kind, **spec})
        return int(result["fault"]["id"])

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_clock_offset(self, offset_ms: int) -> None:
        """Skew the server clock (a client then gets -1021 once outside its recvWindow)."""
        self._call("POST", "/clock", {"offsetMs": offset_ms})


@dataclass
class FakeExchange(FakeExchangeClient):
    """A running fake exchange: where it listens, the credentials it accepts, its process."""

    port: int = 0
    api_key: str = DEFAULT_API_KEY
    secret: str = DEFAULT_SECRET
    process: ManagedProcess | None = field(default=None, repr=False)

    def ccxt_config(self, **overrides: Any) -> dict[str, Any]:
        """Constructor options for ``ccxt.binance``: these credentials, no rate limiter,
        spot-only market loading (one request). ``overrides`` are merged on top."""
        config: dict[str, Any] = {
            "apiKey": self.api_key,
            "secret": self.secret,
            "enableRateLimit": False,
            "options": dict(SPOT_ONLY_OPTIONS),
        }
        options = overrides.pop("options", None)
        config.update(overrides)
        if options:
            config["options"].update(options)
        return config

    def point(self, exchange: Any) -> None:
        """Send every ``urls['api']`` entry of a ccxt instance here (same paths, this host)."""
        exchange.urls["api"] = {
            key: self.base_url + urlsplit(url).path for key, url in exchange.urls["api"].items()
        }

    @contextlib.asynccontextmanager
    async def ccxt(self, **overrides: Any) -> AsyncIterator[Any]:
        """A real ``ccxt.async_support.binance`` pointed at this exchange, closed afterwards."""
        import ccxt.async_support as ccxt_async

        exchange = ccxt_async.binance(self.ccxt_config(**overrides))
        self.point(exchange)
        try:
            yield exchange
        finally:
            await exchange.close()


def fake_exchange_argv(port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fks_fake_exchange",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]


@contextlib.contextmanager
def fake_exchange_process(
    config: Mapping[str, Any] | None = None,
    *,
    seed_markets: str | None = None,
    api_key: str | None = None,
    secret: str | None = None,
    extra_args: Sequence[str] = (),
    attempts: int = 3,
) -> Iterator[FakeExchange]:
    """Start ``fks-fake-exchange`` on a free loopback port; stop it (SIGTERM) on exit."""
    with tempfile.TemporaryDirectory(prefix="fks-fake-exchange-") as tmp:
        args = list(extra_args)
        if config is not None:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(config, default=str))
            args += ["--config", str(path)]
        if seed_markets is not None:
            args += ["--seed-markets", seed_markets]
        if api_key is not None or secret is not None:
            args += ["--api-key", api_key or "", "--secret", secret or ""]
        last_error: Exception | None = None
        for _ in range(attempts):  # a "free" port can be taken before the server binds it
            port = free_port()
            proc = ManagedProcess("fake-exchange", fake_exchange_argv(port, *args))
            exchange = FakeExchange(
                base_url=f"http://127.0.0.1:{port}",
                port=port,
                api_key=api_key or DEFAULT_API_KEY,
                secret=secret or DEFAULT_SECRET,
                process=proc,
            )
            try:
                proc.wait_ready(exchange.healthy, timeout=30)
            except (RuntimeError, TimeoutError) as error:
                proc.stop()
                last_error = error
                continue
            try:
                yield exchange
            finally:
                proc.stop()
            return
        raise RuntimeError(f"fake exchange did not start after {attempts} attempts: {last_error}")


@pytest.fixture(scope="session")
def fake_exchange_server() -> Iterator[FakeExchange]:
    """One default-config fake exchange process for the whole test session."""
    with fake_exchange_process() as exchange:
        yield exchange


@pytest.fixture
def fake_exchange(fake_exchange_server: FakeExchange) -> Iterator[FakeExchange]:
    """The session's fake exchange, reset to its start-up state for this test."""
    fake_exchange_server.reset()
    yield fake_exchange_server
    fake_exchange_server.reset()
