"""The fake exchange as a real process, with a typed client for its control API.

One process serves one server venue (``fks-fake-exchange --venue binance|bybit``). Tests name
what they trade on by a :data:`VENUES` entry, a :class:`Venue`: ``binance-spot``, ``binance-usdm``,
``bybit-spot``, ``bybit-linear`` (the server it needs, the ccxt class, the account market type,
the ccxt options that load only that venue's markets, a default symbol).

Use it in four ways:

- ``with fake_exchange_process(venue="bybit") as fx:`` starts ``fks-fake-exchange`` on a free
  loopback port (optionally with a config mapping, ``seed_markets`` or credentials) and stops it;
- the ``fake_exchange`` / ``fake_bybit`` pytest fixtures: one server per test session and server
  venue, reset before each test (registered through ``pytest_plugins`` in tests/conftest.py);
- the ``fake_venue`` fixture, parametrized indirectly by venue name
  (``@pytest.mark.parametrize("fake_venue", VENUE_NAMES, indirect=True)``): a
  :class:`VenueExchange` = the reset server for that venue + the :class:`Venue`;
- ``FakeExchangeClient(base_url)`` to drive the control API of a server started elsewhere.

``FakeExchange.ccxt(venue)`` gives a real ``ccxt.async_support`` instance of the venue's class
(``binance`` / ``bybit``) pointed at the server (only that venue's markets, no rate limiter) and
closes it afterwards; ``ccxt_config(venue)`` and ``point(exchange)`` are its two halves, and
``base_url`` is what an executor account's ``endpoint`` takes. ``FakeExchange.ccxt_pro(venue)``
is the same for ``ccxt.pro`` (REST and websocket urls: ``point_ws``, ``ws_urls``).
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


@dataclass(frozen=True)
class Venue:
    """What a test trades on: a server venue seen through one ccxt class and market type."""

    name: str
    """``binance-spot``, ``binance-usdm``, ``bybit-spot`` or ``bybit-linear``."""
    server: str
    """The ``--venue`` of the fake exchange process it needs: ``binance`` or ``bybit``."""
    ccxt_id: str
    """The ccxt class (``ccxt.async_support.<ccxt_id>``), also an executor account's exchange."""
    market_type: str
    """ccxt's ``defaultType`` and an executor account's market type: ``spot`` or ``swap``."""
    options: Mapping[str, Any]
    """ccxt ``options`` that load only this venue's markets (one market type)."""
    symbol: str
    """A default unified symbol on this venue (``BTC/USDT`` or ``BTC/USDT:USDT``)."""
    market_id: str
    """That symbol's exchange id (``BTCUSDT``), as the control API and the request log show."""
    account: str
    """The control API's ``account`` holding this venue's funds (``set_balances``)."""

    @property
    def contract(self) -> bool:
        return self.market_type != "spot"


VENUES: dict[str, Venue] = {
    v.name: v
    for v in (
        Venue(
            name="binance-spot",
            server="binance",
            ccxt_id="binance",
            market_type="spot",
            options={**SPOT_ONLY_OPTIONS, "defaultType": "spot"},
            symbol="BTC/USDT",
            market_id="BTCUSDT",
            account="spot",
        ),
        Venue(
            name="binance-usdm",
            server="binance",
            ccxt_id="binance",
            market_type="swap",
            options={
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "defaultType": "swap",
            },
            symbol="BTC/USDT:USDT",
            market_id="BTCUSDT",
            account="futures",
        ),
        Venue(
            name="bybit-spot",
            server="bybit",
            ccxt_id="bybit",
            market_type="spot",
            options={"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
            symbol="BTC/USDT",
            market_id="BTCUSDT",
            account="unified",
        ),
        Venue(
            name="bybit-linear",
            server="bybit",
            ccxt_id="bybit",
            market_type="swap",
            options={
                "fetchMarkets": {"types": ["linear"]},
                "defaultType": "swap",
                "defaultSubType": "linear",
            },
            symbol="BTC/USDT:USDT",
            market_id="BTCUSDT",
            account="unified",
        ),
    )
}
VENUE_NAMES: tuple[str, ...] = tuple(VENUES)
SERVER_VENUES: tuple[str, ...] = ("binance", "bybit")


def venue(name: str) -> Venue:
    """The :class:`Venue` called ``name`` (a clear error naming the known ones otherwise)."""
    found = VENUES.get(name)
    if found is None:
        raise ValueError(f"unknown venue {name!r}; known: {', '.join(VENUE_NAMES)}")
    return found


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
        """Set free amounts; ``replace`` zeroes the rest. ``account``: ``spot`` or ``futures`` on
        the Binance server, ``unified`` (``spot`` and ``futures`` too: one wallet) on Bybit's."""
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
        """Every order the exchange recorded, oldest first (``account``: ``spot``, ``futures``,
        ``futures-algo`` on the Binance server; ``spot``, ``linear`` on Bybit's)."""
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
        """Skew the server clock (a client then gets -1021 on Binance, retCode 10002 on Bybit,
        once outside its recvWindow)."""
        self._call("POST", "/clock", {"offsetMs": offset_ms})


@dataclass
class FakeExchange(FakeExchangeClient):
    """A running fake exchange: where it listens, the credentials it accepts, its process."""

    port: int = 0
    api_key: str = DEFAULT_API_KEY
    secret: str = DEFAULT_SECRET
    process: ManagedProcess | None = field(default=None, repr=False)
    venue: str = "binance"
    """The server venue this process runs (``--venue``): ``binance`` or ``bybit``."""

    def resolve_venue(self, name: str | None = None) -> Venue:
        """``name`` (which must run on this server), or this server's spot venue."""
        chosen = venue(name if name is not None else f"{self.venue}-spot")
        if chosen.server != self.venue:
            raise ValueError(
                f"venue {chosen.name!r} needs a {chosen.server!r} server, not this "
                f"{self.venue!r} one"
            )
        return chosen

    def ccxt_config(self, venue: str | None = None, **overrides: Any) -> dict[str, Any]:
        """Constructor options for the venue's ccxt class (default: this server's spot venue):
        these credentials, no rate limiter, only that venue's markets loaded. ``overrides`` are
        merged on top (``options`` key by key)."""
        chosen = self.resolve_venue(venue)
        config: dict[str, Any] = {
            "apiKey": self.api_key,
            "secret": self.secret,
            "enableRateLimit": False,
            "options": dict(chosen.options),
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

    @property
    def ws_base_url(self) -> str:
        """``ws://127.0.0.1:PORT``: where the websocket endpoints listen (same port)."""
        return "ws" + self.base_url.removeprefix("http")

    def ws_urls(self) -> dict[str, Any]:
        """The ``urls['api']['ws']`` a ccxt.pro instance of this server's venue (``binance`` or
        ``bybit``) needs to use this server (docs/fake-exchange.md, "Websocket streams")."""
        base = self.ws_base_url
        if self.venue == "bybit":
            return {
                "public": {"spot": f"{base}/v5/public/spot", "linear": f"{base}/v5/public/linear"},
                "private": {
                    "spot": {"unified": f"{base}/v5/private"},
                    "contract": f"{base}/v5/private",
                    "trade": f"{base}/v5/trade",
                },
            }
        return {
            "spot": f"{base}/ws",
            "margin": f"{base}/ws",
            "linear": f"{base}/ws",  # ccxt derives /market/ws, /public/ws, /private/ws
            "ws-api": {"spot": f"{base}/ws-api/v3", "linear": f"{base}/ws-fapi/v1"},
        }

    def point_ws(self, exchange: Any) -> None:
        """Send a ccxt.pro instance's REST (``point``) and websocket urls here."""
        self.point_rest(exchange)
        exchange.urls["api"]["ws"] = self.ws_urls()

    def point_rest(self, exchange: Any) -> None:
        """:meth:`point` for the REST entries only (a ccxt.pro instance's ``ws`` is a dict)."""
        exchange.urls["api"] = {
            key: self.base_url + urlsplit(url).path if isinstance(url, str) else url
            for key, url in exchange.urls["api"].items()
        }

    @contextlib.asynccontextmanager
    async def ccxt_pro(self, venue: str | None = None, **overrides: Any) -> AsyncIterator[Any]:
        """A real ``ccxt.pro`` instance of the venue's class pointed at this exchange (REST and
        websockets), closed afterwards."""
        import ccxt.pro as ccxt_pro

        cls = getattr(ccxt_pro, self.ccxt_class_name(venue))
        exchange = cls(self.ccxt_config(venue, **overrides))
        self.point_ws(exchange)
        try:
            yield exchange
        finally:
            await exchange.close()

    def ws_state(self) -> dict[str, Any]:
        """Open websocket connections, listen keys and the message delay."""
        result: dict[str, Any] = self._call("GET", "/ws")
        return result

    def drop_ws(self) -> int:
        """Close every websocket connection (clients reconnect); how many were closed."""
        return int(self._call("POST", "/ws/drop")["dropped"])

    def set_ws_latency(self, delay_ms: int) -> None:
        """Hold back every websocket message by ``delay_ms`` (0: none)."""
        self._call("POST", "/ws/latency", {"delayMs": delay_ms})

    def ccxt_class_name(self, venue: str | None = None) -> str:
        """The ``ccxt`` / ``ccxt.async_support`` class name of the venue: binance, bybit."""
        return self.resolve_venue(venue).ccxt_id

    @contextlib.asynccontextmanager
    async def ccxt(self, venue: str | None = None, **overrides: Any) -> AsyncIterator[Any]:
        """A real ``ccxt.async_support`` instance of the venue's class (default: this server's
        spot venue) pointed at this exchange, closed afterwards."""
        import ccxt.async_support as ccxt_async

        cls = getattr(ccxt_async, self.ccxt_class_name(venue))
        exchange = cls(self.ccxt_config(venue, **overrides))
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
    venue: str = "binance",
    seed_markets: str | None = None,
    api_key: str | None = None,
    secret: str | None = None,
    extra_args: Sequence[str] = (),
    attempts: int = 3,
) -> Iterator[FakeExchange]:
    """Start ``fks-fake-exchange --venue VENUE`` (``binance`` or ``bybit``) on a free loopback
    port; stop it (SIGTERM) on exit."""
    if venue not in SERVER_VENUES:
        raise ValueError(f"unknown server venue {venue!r}; known: {', '.join(SERVER_VENUES)}")
    with tempfile.TemporaryDirectory(prefix="fks-fake-exchange-") as tmp:
        args = ["--venue", venue, *extra_args]
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
                venue=venue,
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


@pytest.fixture(scope="session")
def fake_bybit_server() -> Iterator[FakeExchange]:
    """One default-config fake exchange process running the Bybit V5 venue, for the session."""
    with fake_exchange_process(venue="bybit") as exchange:
        yield exchange


@pytest.fixture
def fake_bybit(fake_bybit_server: FakeExchange) -> Iterator[FakeExchange]:
    """The session's Bybit fake exchange, reset to its start-up state for this test."""
    fake_bybit_server.reset()
    yield fake_bybit_server
    fake_bybit_server.reset()


@dataclass(frozen=True)
class VenueExchange:
    """A reset fake exchange server and the venue a test trades on through it."""

    fake: FakeExchange
    venue: Venue

    @contextlib.asynccontextmanager
    async def ccxt(self, **overrides: Any) -> AsyncIterator[Any]:
        """A real ccxt instance of this venue pointed at the server, closed afterwards."""
        async with self.fake.ccxt(self.venue.name, **overrides) as exchange:
            yield exchange

    @contextlib.asynccontextmanager
    async def ccxt_pro(self, **overrides: Any) -> AsyncIterator[Any]:
        """A real ccxt.pro instance of this venue pointed at the server (REST and websockets)."""
        async with self.fake.ccxt_pro(self.venue.name, **overrides) as exchange:
            yield exchange


_SERVER_FIXTURES = {"binance": "fake_exchange_server", "bybit": "fake_bybit_server"}


@pytest.fixture
def fake_venue(request: pytest.FixtureRequest) -> Iterator[VenueExchange]:
    """The session server for the venue named by the (indirect) parameter, reset for this test:
    ``@pytest.mark.parametrize("fake_venue", VENUE_NAMES, indirect=True)``."""
    chosen = venue(getattr(request, "param", "binance-spot"))
    server: FakeExchange = request.getfixturevalue(_SERVER_FIXTURES[chosen.server])
    server.reset()
    yield VenueExchange(fake=server, venue=chosen)
    server.reset()
