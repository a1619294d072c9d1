"""Per-venue facts ccxt does not expose uniformly: one table, read by capability, never by name.

The order protocol (``sender.py``), the order flow (``live.py``) and the ccxt set-up
(``setup.py``) ask :func:`quirks_for` *what* a venue does, never *which* venue it is. Everything
ccxt itself says (``has``, ``features``) is read from ccxt (:class:`Capabilities`); this table
holds only what ccxt's flags do not tell, each entry checked against ccxt 4.5's source:

- markets of one type: ccxt's ``fetchMarkets.types`` (spot | linear) on both; Binance also
  skips currencies and margins, Bybit its private coin list (``/v5/asset/coin/query-info``);
- looking an order up by client order id: Binance ``fetch_order_with_client_order_id``
  (``origClientOrderId``); Bybit lists open orders, then closed and canceled ones, filtered by
  ``orderLinkId`` (``/v5/order/realtime``, then ``/v5/order/history``), since ccxt's
  ``fetch_order`` refuses unified accounts;
- fills in the create answer: Binance yes (``newOrderRespType`` FULL/RESULT); Bybit no, only
  ``orderId``/``orderLinkId`` (the order is fetched to learn its status and fills);
- attached stop-loss/take-profit: from ccxt's ``features`` (Binance none; Bybit spot and
  contracts), minus what ccxt refuses (Bybit spot *market* orders) or is not exercised (Bybit
  spot limit orders): attached on Bybit contracts only;
- trailing stops: ccxt's ``features`` (``createOrder.trailing``) and ``has``
  (``createTrailingPercentOrder`` / ``createTrailingAmountOrder``: by percent or by a price
  distance), minus what ccxt refuses (Bybit spot: "only supports contract trailingAmount");
  Bybit's is a setting of the position (``/v5/position/trading-stop``: no client order id,
  found among the open orders by ``stopOrderType`` TrailingStop); Binance USD-M's callback
  rate is 0.1 to 10 percent;
- conditional orders listed apart from plain ones: Binance USD-M (algo orders), Bybit spot
  (TP/SL orders); spot OCO lists: Binance only; a late request is refused after
  ``recvWindow`` on both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Capabilities", "Lookup", "Quirks", "market_kind", "quirks_for"]


class Lookup(enum.Enum):
    """How an order is found by its client order id."""

    CLIENT_ORDER_ID = "client_order_id"
    """``fetch_order_with_client_order_id`` (ccxt sends the venue's client-id parameter)."""
    OPEN_THEN_CLOSED = "open_then_closed"
    """List open orders, then closed and canceled ones, filtered by ``client_id_param``."""


@dataclass(frozen=True, slots=True)
class Quirks:
    """One venue's row of the table above."""

    market_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """ccxt ``options`` per account market type, to load only that type's markets."""
    skip_currencies: bool = False
    """ccxt's ``load_markets`` asks for the currency list first when ``has['fetchCurrencies']``
    (a private request on Bybit, needing keys); the executor never reads currencies."""
    error_table_by_path: Mapping[str, str] = field(default_factory=dict)
    """URL path prefix -> key of ``exchange.exceptions`` (used with an endpoint override)."""
    sandbox_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Extra ccxt options per market type when ``environment: testnet``."""
    settle_option: str | None = None
    """The ccxt option (ms) after which the exchange refuses a late request (recvWindow)."""
    spot_oco: bool = False
    """Spot OCO order lists (a stop-loss and a take-profit sharing one balance lock), sent
    through ccxt's implicit API (``private_post_orderlist_oco``); ccxt has no unified call."""
    lookup: Lookup = Lookup.CLIENT_ORDER_ID
    client_id_param: str = "clientOrderId"
    """The venue's own name of the client order id, for ``Lookup.OPEN_THEN_CLOSED``."""
    conditional_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``spot`` | ``contract`` -> the ccxt params that reach conditional (stop-loss /
    take-profit) orders where the venue lists them apart from plain orders: Binance USD-M's
    algo orders (``trigger``), Bybit spot's TP/SL orders (``orderFilter: tpslOrder``). Used
    to look a leg up and to list a pipeline's open orders before a close."""
    answer_has_fills: bool = True
    """The create answer carries the order's status and fills; otherwise it is fetched."""
    no_attached_tp_sl: frozenset[tuple[str, str]] = frozenset()
    """(``spot`` | ``contract``, order type) pairs where ccxt's features announce attached
    stop-loss/take-profit but ccxt refuses it."""
    no_trailing: frozenset[str] = frozenset()
    """``spot`` | ``contract``: where ccxt's features announce trailing stops but ccxt refuses
    them."""
    trailing_percent_range: tuple[float, float] | None = None
    """The callback percents the venue takes (Binance USD-M ``callbackRate``: 0.1 to 10)."""
    trailing_on_position: bool = False
    """The trailing stop is a setting of the position, not an order with a client order id
    (Bybit's trading-stop): set idempotently, then found by its ``stopOrderType``."""


_BINANCE_SPOT_ONLY = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}
_BINANCE_LINEAR = {
    "fetchMarkets": {"types": ["linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}
_BINANCE = Quirks(
    market_options={
        "spot": {"defaultType": "spot", **_BINANCE_SPOT_ONLY},
        "margin": {"defaultType": "margin", "fetchMarkets": {"types": ["spot"]}},
        "swap": {"defaultType": "swap", **_BINANCE_LINEAR},
        "future": {"defaultType": "future", **_BINANCE_LINEAR},
    },
    error_table_by_path={
        "/api/": "spot",
        "/sapi/": "spot",
        "/fapi/": "linear",
        "/dapi/": "inverse",
        "/eapi/": "option",
        "/papi/": "portfolioMargin",
        "/ws-api/": "spot",  # the WebSocket APIs (create_order_ws refusals)
        "/ws-fapi/": "linear",
    },
    sandbox_options={
        "swap": {"disableFuturesSandboxWarning": True},
        "future": {"disableFuturesSandboxWarning": True},
    },
    settle_option="recvWindow",
    spot_oco=True,
    trailing_percent_range=(0.1, 10.0),
    conditional_params={"contract": {"trigger": True}},
)
_BYBIT_LINEAR = {"defaultType": "swap", "defaultSubType": "linear"}
_BYBIT = Quirks(
    market_options={
        "spot": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        "margin": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        "swap": {**_BYBIT_LINEAR, "fetchMarkets": {"types": ["linear"]}},
        "future": {**_BYBIT_LINEAR, "fetchMarkets": {"types": ["linear"]}},
    },
    skip_currencies=True,
    settle_option="recvWindow",
    lookup=Lookup.OPEN_THEN_CLOSED,
    client_id_param="orderLinkId",
    answer_has_fills=False,
    # ccxt refuses attached TP/SL on spot market orders; on spot limit orders Bybit takes it,
    # but no test venue serves it, so spot legs are always separate orders after the fill.
    no_attached_tp_sl=frozenset({("spot", "market"), ("spot", "limit")}),
    conditional_params={"spot": {"orderFilter": "tpslOrder"}},
    no_trailing=frozenset({"spot"}),
    trailing_on_position=True,
)
_QUIRKS: dict[str, Quirks] = {"binance": _BINANCE, "bybit": _BYBIT}
_GENERIC = Quirks(answer_has_fills=False)  # unknown venues: confirm every order by fetching it


def quirks_for(exchange_id: str) -> Quirks:
    return _QUIRKS.get(exchange_id, _GENERIC)


def market_kind(contract: bool) -> str:
    """The key of per-kind quirks: ``contract`` or ``spot``."""
    return "contract" if contract else "spot"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one account can do on its venue and market type: ccxt's ``has``/``features``
    plus the quirks table (one place, no per-exchange if-chains)."""

    attached_tp_sl: bool = False
    """Stop-loss/take-profit travel with the entry (features ``attachedStopLossTakeProfit``,
    or ``has['createOrderWithTakeProfitAndStopLoss']`` where ccxt lists no features)."""
    stop_loss_orders: bool = True  # has['createStopLossOrder'] / createTriggerOrder
    take_profit_orders: bool = True  # has['createTakeProfitOrder'] / createTriggerOrder
    reduce_only: bool = False  # has['createReduceOnlyOrder']
    spot_oco: bool = False  # OCO order lists on spot (Quirks.spot_oco; not in ccxt's has)
    not_attachable: frozenset[str] = frozenset()
    """Order types on which attached stop-loss/take-profit is refused (Bybit spot: market)."""
    trailing: str | None = None
    """Trailing stops: ``percent`` (Binance USD-M's callbackRate), ``amount`` (a price
    distance: Bybit contracts), or None (none on this market type)."""
    trailing_percent_range: tuple[float, float] | None = None
    """The callback percents the venue takes (Quirks.trailing_percent_range)."""

    def attaches(self, order_type: str) -> bool:
        """Whether stop-loss/take-profit can be attached to an entry of ``order_type``."""
        return self.attached_tp_sl and order_type not in self.not_attachable

    @classmethod
    def from_has(cls, has: Mapping[str, Any], *, spot_oco: bool = False) -> Capabilities:
        def yes(key: str) -> bool:
            return bool(has.get(key))  # True or "emulated"

        trigger = yes("createTriggerOrder") or yes("createStopOrder")
        return cls(
            attached_tp_sl=has.get("createOrderWithTakeProfitAndStopLoss") is True,
            stop_loss_orders=yes("createStopLossOrder") or trigger,
            take_profit_orders=yes("createTakeProfitOrder") or trigger,
            reduce_only=yes("createReduceOnlyOrder"),
            spot_oco=spot_oco,
        )

    @classmethod
    def for_account(cls, api: Any, market_type: str, quirks: Quirks) -> Capabilities:
        """The capabilities of ``market_type`` on the ccxt instance ``api``."""
        base = cls.from_has(dict(api.has), spot_oco=quirks.spot_oco)
        contract = market_type in ("swap", "future")
        kind = "contract" if contract else "spot"
        features = _create_order_features(getattr(api, "features", None), market_type)
        attached = base.attached_tp_sl
        trailing: str | None = None
        if features is not None:
            attached = features.get("attachedStopLossTakeProfit") is not None
            if features.get("trailing") and kind not in quirks.no_trailing:
                trailing = _trailing_kind(api.has)
        return cls(
            attached_tp_sl=attached,
            stop_loss_orders=base.stop_loss_orders,
            take_profit_orders=base.take_profit_orders,
            reduce_only=base.reduce_only,
            spot_oco=base.spot_oco and not contract,
            not_attachable=frozenset(t for k, t in quirks.no_attached_tp_sl if k == kind),
            trailing=trailing,
            trailing_percent_range=quirks.trailing_percent_range,
        )


def _trailing_kind(has: Mapping[str, Any]) -> str | None:
    if has.get("createTrailingPercentOrder"):
        return "percent"
    if has.get("createTrailingAmountOrder"):
        return "amount"
    return None


def _create_order_features(features: Any, market_type: str) -> Mapping[str, Any] | None:
    """ccxt's ``features[type]['createOrder']`` (contracts: the linear sub-type)."""
    if not isinstance(features, Mapping):
        return None
    key = "spot" if market_type in ("spot", "margin") else market_type
    entry = features.get(key)
    if isinstance(entry, Mapping) and "createOrder" not in entry:
        entry = entry.get("linear")
    if not isinstance(entry, Mapping):
        return None
    create = entry.get("createOrder")
    return create if isinstance(create, Mapping) else None
