"""``execution.mode: target-position``: read the real position, then send what closes the gap.

:func:`~.targeting.gap` decides (pure); :class:`PositionSync` does the I/O around it, for the
trader (docs/trading.md#target-position):

1. the real position: on contract markets the venue's open position for the symbol (a REST
   read, never the warm state: a sync must see the latest fill); on spot what this pipeline
   bought and has not sold, from its own fills ledger (entries, closes and the protective legs
   found executed), never more than the account holds; in dry-run the simulated position of
   this process;
2. the gap: nothing, a close, a partial reduce, an entry, or a close then an entry (a flip);
3. each step through the ordinary order protocol (``ExchangeClient.execute``): the close with
   its own client order id (leg ``cl``), the entry with its own (``en``); the entry of a flip
   only once the close filled.

A resumed signal (after a crash, or an order whose fate was unknown) first looks its close
(``cl``) and its entry (``en``) up by client order id, then reads the gap again from the real
position and sends only the steps whose order does not exist: neither the close nor the entry
is ever doubled (a partial reduce is a ``cl`` order too: found, it is not repeated on the
smaller position it left). A step whose request may still be in flight is looked up again by
the order protocol itself before it is sent (``resume=True``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fks_executor.config import AccountConfig
from fks_executor.domain import Action, OrderResult, Outcome, Signal
from fks_executor.errors import InvalidOrder, Rejected
from fks_executor.exchange.base import ExchangeClient, ExecutionReport
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.futures import FuturesBook
from fks_executor.exchange.legs import sync_legs
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.plan import OrderLeg, OrderPlan
from fks_executor.exchange.targeting import Step, StepKind, gap
from fks_executor.risk import Fill, FillsLedger

__all__ = ["PositionSync", "Synced", "ledger_position"]

Planner = Callable[[Signal], Awaitable[OrderPlan]]
"""Plans a close or an entry like an alert of ``orders`` mode (sizing, caps, minimums)."""

_FILLED = ("closed", "simulated")


@dataclass(frozen=True, slots=True)
class Synced:
    """What a target-position signal did: ``report`` None when nothing had to be sent."""

    report: ExecutionReport | None
    detail: str

    def outcome(self, signal_id: str, *, dry_run: bool) -> Outcome:
        """The answer when nothing was sent: the position is already where the alert says."""
        return Outcome(
            status="dry_run" if dry_run else "executed",
            signal_id=signal_id,
            reason="in_position",
            detail=self.detail,
        )


def ledger_position(fills: Sequence[Fill], account: str, symbol: str) -> float:
    """The signed base amount ``account`` bought and has not sold on ``symbol`` (a fee paid in
    the coin is not held)."""
    return sum(
        (f.amount if f.side == "buy" else -f.amount) - f.fee_base
        for f in fills
        if f.account == account and f.symbol == symbol
    )


class PositionSync:
    def __init__(
        self,
        pipeline: str,
        ledger: FillsLedger,
        clock: Callable[[], float],
        futures: FuturesBook,
    ) -> None:
        self.pipeline = pipeline
        self.futures = futures
        self.ledger = ledger
        self._clock = clock

    async def run(
        self,
        client: ExchangeClient,
        account: AccountConfig,
        signal: Signal,
        market: MarketInfo,
        *,
        plan: Planner,
        sent: Callable[[OrderPlan], None],
        resume: bool,
        attempted_at: float | None,
        deadline: float,
    ) -> Synced:
        """Bring ``account``'s position on ``market`` to ``signal.position``. ``plan`` plans
        a close or an entry; ``sent`` is told of each plan before it is carried out."""
        futures = account.futures
        configured = futures is not None and futures.position_mode == "hedge"
        # the venue's mode decides (FuturesBook.hedged: docs/trading.md#futures-settings)
        if configured or await self.futures.hedged(account.name, client, market):
            raise InvalidOrder(
                "execution.mode target-position needs futures.positionMode oneway and the "
                "venue in one-way position mode: a strategy has one position per symbol, a "
                "hedge-mode account may hold two"
            )
        price = (
            signal.price if signal.price is not None else await client.fetch_price(market.symbol)
        )
        signal = dataclasses.replace(signal, price=price)
        found: dict[Leg, ExecutionReport] = {}
        if resume:  # what an earlier attempt sent is never sent again
            for leg in (Leg.CLOSE, Leg.ENTRY):
                earlier = await self._sent_before(client, account.name, signal, market, leg)
                if earlier is not None:
                    found[leg] = earlier
        real = await self._real_position(client, account.name, market)
        wanted = gap(real=real, signal=signal, market=market, price=price)
        detail = wanted.detail
        if found:
            detail = (
                "an earlier attempt of this signal sent orders (found by client order id, not "
                f"sent again); then: {detail}"
            )
        reports = dict(found)
        for i, step in enumerate(wanted.steps):
            leg = step.kind.leg
            if leg not in reports:
                try:
                    step_plan = await self._plan(step, signal, account.name, market, plan)
                    sent(step_plan)
                    reports[leg] = await client.execute(
                        step_plan, resume=resume, attempted_at=attempted_at, deadline=deadline
                    )
                except Rejected as exc:
                    if not reports:
                        raise  # nothing was sent: the refusal is the answer
                    # the close of a flip went through; its entry is refused (risk limit,
                    # funds, minimum): the answer shows the close and says why
                    detail += f"; the entry is refused: {exc.reason}: {exc.detail}"
                    break
            close = reports[leg].entry
            more = i + 1 < len(wanted.steps)
            if more and (close.status not in _FILLED or close.filled <= 0):
                detail += (
                    f"; the entry is not sent: the close is {close.status}, not filled "
                    "(the next alert brings the position in line)"
                )
                break
        if not reports:
            return Synced(None, detail)
        # a signal's close (cl) always goes before its entry (en)
        return Synced(
            _combine([reports[k] for k in (Leg.CLOSE, Leg.ENTRY) if k in reports]), detail
        )

    async def _real_position(
        self, client: ExchangeClient, account: str, market: MarketInfo
    ) -> float:
        position = await client.fetch_position(market.symbol)
        if client.dry_run or market.contract:
            return position
        # Spot: the account's coins may belong to others; only what this pipeline bought
        # and has not sold is its position, and never more than the account holds (fees
        # taken in the coin, a manual sale).
        await sync_legs(self.ledger, client, account, self._clock())
        held = ledger_position(await self.ledger.fills(), account, market.symbol)
        return max(0.0, min(held, position))

    async def _plan(
        self, step: Step, signal: Signal, account: str, market: MarketInfo, plan: Planner
    ) -> OrderPlan:
        if step.kind is StepKind.ENTER:
            return await plan(dataclasses.replace(signal, action=Action(step.side)))
        if step.kind is StepKind.CLOSE:
            # ``position`` is the target here, not the side to close: the close names none
            closing = await plan(dataclasses.replace(signal, action=Action.CLOSE, position=None))
            if market.contract:
                return closing  # the whole position, read when the close is sent
            # spot: at most what this pipeline holds (the rest of the coin is not its own)
            return dataclasses.replace(
                closing, entry=dataclasses.replace(closing.entry, amount=step.amount)
            )
        leg = OrderLeg(
            step.kind.leg,
            client_order_id(self.pipeline, account, signal.signal_id, step.kind.leg),
            step.side,
            "market",
            step.amount,
            reduce_only=market.contract,
        )
        assert signal.price is not None
        return OrderPlan(
            signal_id=signal.signal_id,
            pipeline=self.pipeline,
            account=account,
            symbol=market.symbol,
            action=Action(step.side),
            entry=leg,
            reference_price=signal.price,
        )

    async def _sent_before(
        self,
        client: ExchangeClient,
        account: str,
        signal: Signal,
        market: MarketInfo,
        leg: Leg,
    ) -> ExecutionReport | None:
        """The signal's ``leg`` order if an earlier attempt placed it (its side and amount
        are read from the exchange's answer)."""
        probe = OrderLeg(
            leg,
            client_order_id(self.pipeline, account, signal.signal_id, leg),
            "buy",
            "market",
            None,
            reduce_only=market.contract and leg is Leg.CLOSE,
        )
        found = await client.find_order(market.symbol, probe)
        if found is None:
            return None
        assert signal.price is not None
        plan = OrderPlan(
            signal_id=signal.signal_id,
            pipeline=self.pipeline,
            account=account,
            symbol=market.symbol,
            action=Action(found.side) if found.side in ("buy", "sell") else Action.BUY,
            entry=probe,
            reference_price=signal.price,
        )
        fill = _fill(found, market, self._clock())
        return ExecutionReport(
            plan=plan, entry=found, recovered=True, fills=(fill,) if fill else ()
        )


def _fill(order: OrderResult, market: MarketInfo, now: float) -> Fill | None:
    if order.filled <= 0:
        return None
    base = order.filled * (market.contract_size if market.contract else 1.0)
    return Fill(
        timestamp=now,
        account=order.account,
        symbol=market.symbol,
        side=order.side,
        amount=base,
        price=order.cost / base if order.cost > 0 else (order.price or 0.0),
        client_order_id=order.client_order_id,
        fee_base=(order.fee or 0.0) if order.fee_currency == market.base else 0.0,
    )


def _combine(reports: Sequence[ExecutionReport]) -> ExecutionReport:
    """One report for the answer: the last order as ``order``; the orders before it (the
    close of a flip) first among ``orders``, then the legs and cancelled orders."""
    *earlier, last = reports
    return ExecutionReport(
        plan=last.plan,
        entry=last.entry,
        legs=(*(r.entry for r in earlier), *(leg for r in reports for leg in r.legs)),
        leg_failures=tuple(f for r in reports for f in r.leg_failures),
        cancelled=tuple(c for r in reports for c in r.cancelled),
        recovered=any(r.recovered for r in reports),
        fills=tuple(f for r in reports for f in r.fills),
    )
