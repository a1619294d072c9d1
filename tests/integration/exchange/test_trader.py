"""The Trader (the intake's SignalExecutor) from a real config, against the fake exchange."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from fks_executor.audit import AuditLog
from fks_executor.config import AccountCredentials, ResolvedSecrets, parse_config
from fks_executor.domain import Action
from fks_executor.errors import RiskLimit, SymbolNotAllowed, UnknownAccount
from fks_executor.exchange.trader import Trader
from fks_executor.exchange.wiring import build_trader
from fks_executor.metrics import Metrics
from tests.harness.fake_exchange import FakeExchange

from .conftest import FAST_RETRY, signal

MakeTrader = Callable[..., Awaitable[Trader]]


@pytest.fixture
async def make_trader(fake_exchange: FakeExchange, tmp_path: Path) -> AsyncIterator[MakeTrader]:
    made: list[Trader] = []

    async def make(*, dry_run: bool = False, risk: dict[str, Any] | None = None) -> Trader:
        config = parse_config(
            {
                "pipeline": "btc-momentum",
                "dryRun": dry_run,
                "webhook": {"secretEnv": "FKS_WEBHOOK_SECRET"},
                "accounts": [
                    {
                        "name": "fake-binance",
                        "exchange": "binance",
                        "environment": "testnet",
                        "marketType": "spot",
                        "apiKeyEnv": "K",
                        "secretEnv": "S",
                        "endpoint": fake_exchange.base_url,
                        "options": {"enableRateLimit": "false", "timeout": "1000"},
                    }
                ],
                "risk": risk or {"sizing": {"method": "risk", "riskPerTrade": 0.02}},
                "state": {"journalPath": str(tmp_path / "journal.db")},
                "audit": {"path": str(tmp_path / "audit.jsonl")},
            }
        )
        secrets = ResolvedSecrets(
            webhook_secret=SecretStr("w"),
            accounts={
                "fake-binance": AccountCredentials(
                    api_key=SecretStr(fake_exchange.api_key),
                    secret=SecretStr(fake_exchange.secret),
                )
            },
        )
        metrics = Metrics("btc-momentum", ["fake-binance"])
        audit = AuditLog(config.audit.path, config.pipeline, metrics)
        trader = build_trader(config, secrets, metrics, audit, retry=FAST_RETRY)
        made.append(trader)
        await trader.start()
        return trader

    yield make
    for trader in made:
        await trader.close()
        if trader.audit is not None:
            trader.audit.close()


def audit_lines(trader: Trader) -> list[dict[str, Any]]:
    assert trader.audit is not None
    return [json.loads(line) for line in Path(trader.audit.path).read_text().splitlines()]


async def test_worked_example_end_to_end(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    # On spot the position is the account's base balance: start without BTC (the fake's
    # default 0.1 BTC = 6,800 USD would already exceed maxPositionSizeUSD 1,000).
    fake_exchange.set_balances({"BTC": 0})
    trader = await make_trader()
    assert trader.ready() == {"markets:fake-binance": True}
    outcome = await trader.execute(
        signal(symbol="BINANCE:BTCUSDT", price=68_000.0, stop_loss=67_000.0)
    )
    assert outcome.status == "executed"
    assert outcome.http_status == 200
    assert outcome.order is not None
    assert outcome.order["amount"] == pytest.approx(0.0147)  # 13,600 USD capped to 1,000
    assert outcome.order["status"] == "closed"
    assert [o["type"] for o in outcome.orders] == ["stop_loss"]
    assert fake_exchange.order_count() == 2
    await asyncio.sleep(0)  # audit lines are written when the event loop turns (audit.py)
    lines = audit_lines(trader)
    assert [line["decision"] for line in lines] == ["order_sent", "order_result", "order_result"]
    assert "capped by maxPositionSizeUSD" in lines[0]["detail"]
    assert trader.metrics is not None
    text = trader.metrics.render().decode()
    labels = 'account="fake-binance",exchange="binance",status="executed"'
    assert f"fks_order_executions_total{{{labels}}} 1.0" in text


async def test_refusals_are_counted_and_raised(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    fake_exchange.set_balances({"BTC": 0, "ETH": 0})
    trader = await make_trader(risk={"allowedSymbols": ["BINANCE:ETHUSDT"]})
    with pytest.raises(SymbolNotAllowed, match="not in allowedSymbols"):
        await trader.execute(signal(amount=0.01))
    outcome = await trader.execute(signal("s2", symbol="ETH/USDT", amount=0.01))
    assert outcome.status == "executed"
    with pytest.raises(UnknownAccount):
        await trader.execute(signal("s3", account="nope", amount=0.01))
    assert trader.metrics is not None
    labels = 'account="fake-binance",exchange="binance",reason="symbol_not_allowed"'
    assert f"fks_order_failures_total{{{labels}}} 1.0" in trader.metrics.render().decode()


async def test_daily_loss_limit_blocks_entries_but_not_closes(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    fake_exchange.set_balances({"BTC": 0})
    trader = await make_trader(
        risk={
            "dailyLossLimitUSD": 20,
            "maxPositionSizeUSD": 5000,
            "sizing": {"method": "fixed-notional"},
        }
    )
    await trader.execute(signal("buy-1", size_usd=1000.0))  # ~0.0147 BTC at 68,000
    fake_exchange.set_price("BTC/USDT", 61_200)  # -10 %
    closed = await trader.execute(signal("close-1", action=Action.CLOSE))
    assert closed.order is not None
    assert closed.order["side"] == "sell"
    with pytest.raises(RiskLimit, match="dailyLossLimitUSD reached"):
        await trader.execute(signal("buy-2", size_usd=100.0))
    # closing is still allowed (nothing left to close here, so the exchange layer says so)
    fake_exchange.set_balances({"BTC": "0.001"})
    again = await trader.execute(signal("close-2", action=Action.CLOSE))
    assert again.status == "executed"


async def test_a_stop_loss_hit_on_the_exchange_counts_towards_the_daily_loss(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    fake_exchange.set_balances({"BTC": 0})
    trader = await make_trader(risk={"dailyLossLimitUSD": 15})
    await trader.execute(signal("buy-1", price=68_000.0, stop_loss=67_000.0))  # 0.0147 BTC
    fake_exchange.set_price("BTC/USDT", 66_000)  # the stop triggers on the exchange
    (stop,) = fake_exchange.orders(client_order_id=fake_exchange.orders()[1]["clientOrderId"])
    assert stop["status"] == "FILLED"
    # about -30 USD realised (0.01468 BTC sold 2,000 lower, plus fees): entries are refused
    with pytest.raises(RiskLimit, match="dailyLossLimitUSD reached"):
        await trader.execute(signal("buy-2", price=66_000.0, stop_loss=65_000.0))


async def test_volatility_sizing_computes_atr_from_candles(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    trader = await make_trader(
        risk={
            "sizing": {"method": "volatility", "atrMultiplier": 2.0},
            "maxPositionSizeUSD": 1e9,
            "maxOrderSizeUSD": 1e9,
        }
    )
    outcome = await trader.execute(signal())
    assert outcome.order is not None
    assert outcome.order["amount"] > 0
    assert fake_exchange.stats()["byEndpoint"].get("GET /api/v3/klines") == 1


async def test_position_cap_counts_what_the_account_already_holds(
    fake_exchange: FakeExchange, make_trader: MakeTrader
) -> None:
    fake_exchange.set_balances({"BTC": "0.01"})  # 680 USD held: room for 320 more
    trader = await make_trader()
    outcome = await trader.execute(signal(size_usd=900.0))
    assert outcome.order is not None
    assert outcome.order["amount"] == pytest.approx(0.0047)  # 320 / 68,000, truncated
    fake_exchange.set_balances({"BTC": "0.02"})
    with pytest.raises(RiskLimit, match="maxPositionSizeUSD reached"):
        await trader.execute(signal("s2", size_usd=100.0))


async def test_dry_run_trader(fake_exchange: FakeExchange, make_trader: MakeTrader) -> None:
    trader = await make_trader(dry_run=True)
    assert trader.ready() == {}  # dry-run accounts do not gate readiness
    outcome = await trader.execute(signal(stop_loss=67_000.0))
    assert outcome.status == "dry_run"
    assert outcome.order is not None
    assert outcome.order["dry_run"] is True
    assert outcome.order["amount"] == pytest.approx(0.0147)  # paperBalanceUSD 10,000
    assert fake_exchange.order_count() == 0
    assert "/api/v3/account" not in {r["path"] for r in fake_exchange.requests()}
