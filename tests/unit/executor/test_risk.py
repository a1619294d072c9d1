"""Risk rules: daily realised loss over the fills ledger, allowed symbols (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fks_executor.errors import RiskLimit, SymbolNotAllowed
from fks_executor.fills import Fill, compact, realised_pnl, utc_day_start
from fks_executor.risk import check_daily_loss, check_symbol_allowed
from fks_executor.state.ledgers import (
    MemoryFillsLedger,
)

DAY = datetime(2025, 3, 10, tzinfo=UTC).timestamp()  # 00:00 UTC
H = 3600.0


def fill(
    t: float, side: str, amount: float, price: float, fee: float = 0.0, sym: str = "BTC/USDT"
) -> Fill:
    return Fill(
        timestamp=t, account="a", symbol=sym, side=side, amount=amount, price=price, fee_quote=fee
    )


def test_utc_day_start() -> None:
    assert utc_day_start(DAY + 5 * H + 12.5) == DAY
    assert utc_day_start(DAY) == DAY
    assert utc_day_start(DAY - 1) == DAY - 24 * H


def test_loss_on_a_position_opened_yesterday_counts_today() -> None:
    fills = [fill(DAY - 2 * H, "buy", 1.0, 100.0), fill(DAY + H, "sell", 1.0, 90.0)]
    assert realised_pnl(fills, since=DAY) == pytest.approx(-10.0)
    # ... and not the day before
    assert realised_pnl(fills[:1], since=DAY - 24 * H) == 0.0


def test_average_cost_partial_closes_and_fees() -> None:
    fills = [
        fill(DAY + 1, "buy", 1.0, 100.0, fee=0.1),
        fill(DAY + 2, "buy", 1.0, 120.0, fee=0.1),  # avg 110
        fill(DAY + 3, "sell", 0.5, 100.0, fee=0.05),  # -5
        fill(DAY + 4, "sell", 1.5, 130.0, fee=0.2),  # +30
    ]
    assert realised_pnl(fills, since=DAY) == pytest.approx(25.0 - 0.45)


def test_shorts_and_flips() -> None:
    fills = [
        fill(DAY + 1, "sell", 2.0, 100.0),  # short 2 @100
        fill(DAY + 2, "buy", 3.0, 110.0),  # close 2 -> -20, then long 1 @110
        fill(DAY + 3, "sell", 1.0, 105.0),  # -5
    ]
    assert realised_pnl(fills, since=DAY) == pytest.approx(-25.0)


def test_symbols_are_booked_separately() -> None:
    fills = [
        fill(DAY + 1, "buy", 1.0, 100.0, sym="BTC/USDT"),
        fill(DAY + 2, "sell", 1.0, 50.0, sym="ETH/USDT"),  # opens a short, realises nothing
    ]
    assert realised_pnl(fills, since=DAY) == 0.0


def test_daily_loss_limit_refuses_entries_once_reached() -> None:
    fills = [fill(DAY + 1, "buy", 1.0, 100.0), fill(DAY + 2, "sell", 1.0, 50.0)]  # -50
    check_daily_loss(fills, limit_usd=51, now=DAY + 3)
    with pytest.raises(RiskLimit, match="dailyLossLimitUSD reached") as err:
        check_daily_loss(fills, limit_usd=50, now=DAY + 3)
    assert "closes are still allowed" in err.value.detail
    check_daily_loss(fills, limit_usd=0, now=DAY + 3)  # 0 = off
    # the next UTC day starts afresh
    check_daily_loss(fills, limit_usd=50, now=DAY + 24 * H + 1)


def test_compact_keeps_the_cost_basis() -> None:
    fills = [
        fill(DAY - 30 * H, "buy", 1.0, 100.0),
        fill(DAY - 20 * H, "buy", 1.0, 200.0),
        fill(DAY - 10 * H, "sell", 1.0, 180.0),
        fill(DAY - 5 * H, "buy", 1.0, 50.0, sym="ETH/USDT"),
        fill(DAY - 4 * H, "sell", 1.0, 60.0, sym="ETH/USDT"),  # flat: dropped entirely
        fill(DAY + H, "sell", 1.0, 140.0),
    ]
    small = compact(fills, before=DAY)
    assert len(small) == 2
    assert small[0].amount == pytest.approx(1.0)
    assert small[0].price == pytest.approx(150.0)
    assert realised_pnl(small, since=DAY) == pytest.approx(realised_pnl(fills, since=DAY))
    assert realised_pnl(small, since=DAY) == pytest.approx(-10.0)


async def test_memory_ledger_compacts_old_days() -> None:
    ledger = MemoryFillsLedger()
    await ledger.record(fill(DAY - 3 * H, "buy", 2.0, 100.0))
    await ledger.record(fill(DAY - 2 * H, "sell", 1.0, 110.0))
    await ledger.record(fill(DAY + H, "sell", 1.0, 80.0))
    kept = await ledger.fills()
    assert len(kept) == 2  # one synthetic opening fill + today's
    assert realised_pnl(kept, since=DAY) == pytest.approx(-20.0)


def test_allowed_symbols() -> None:
    check_symbol_allowed("BTC/USDT", [])
    check_symbol_allowed("BTC/USDT", ["ETH/USDT", "BTC/USDT"])
    with pytest.raises(SymbolNotAllowed, match="not in allowedSymbols"):
        check_symbol_allowed("SOL/USDT", ["BTC/USDT"])
