"""Client order ids: deterministic, so a retried or redelivered signal can find its own order.

Format (34 characters, within Binance's ``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``, and plain enough for
every exchange ccxt lists)::

    fks-<pipeline tag: 6 hex>-<signal hash: 20 hex>-<leg>

- pipeline tag = first 6 hex of SHA-256(pipeline name): every order of one pipeline shares the
  prefix ``fks-<tag>-`` (a ``close`` cancels that pipeline's open orders by it, and only those);
- signal hash = first 20 hex (80 bits) of SHA-256(pipeline NUL account NUL signal id): the same
  signal always gets the same ids, two pipelines or accounts never share one;
- leg: ``en`` entry, ``sl`` stop-loss, ``tp`` take-profit, ``cl`` close, ``oc`` the OCO order
  list pairing ``sl`` and ``tp`` (Binance spot), ``cs`` the close of the short side in hedge
  mode (``cl`` then closes the long side), ``t0``..``t9`` the targets of ``take_profits`` (in
  order of distance from the entry), ``ts`` the trailing stop (docs/trading.md#several-exits),
  ``uc`` the close of a position left unprotected (``execution.onProtectionFailure: close``,
  docs/trading.md#when-a-protection-fails: its own leg, so no alert id can collide with it).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re

__all__ = ["CLIENT_ID_PATTERN", "Leg", "client_order_id", "pipeline_prefix"]

CLIENT_ID_PATTERN = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


class Leg(enum.StrEnum):
    ENTRY = "en"
    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"
    CLOSE = "cl"
    CLOSE_SHORT = "cs"
    OCO = "oc"
    UNPROTECTED_CLOSE = "uc"
    TRAILING_STOP = "ts"
    TARGET_0 = "t0"
    TARGET_1 = "t1"
    TARGET_2 = "t2"
    TARGET_3 = "t3"
    TARGET_4 = "t4"
    TARGET_5 = "t5"
    TARGET_6 = "t6"
    TARGET_7 = "t7"
    TARGET_8 = "t8"
    TARGET_9 = "t9"

    @property
    def target(self) -> bool:
        """One target of ``take_profits`` (a take-profit for a share of the position)."""
        return self.value[0] == "t" and self.value[1].isdigit()

    @classmethod
    def target_leg(cls, index: int) -> Leg:
        """The leg of the ``index``-th target (0-based, nearest the entry first)."""
        return cls(f"t{index}")


def _hex(text: str, n: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@functools.lru_cache(maxsize=64)
def pipeline_prefix(pipeline: str) -> str:
    """The prefix every client order id of ``pipeline`` starts with."""
    return f"fks-{_hex(pipeline, 6)}-"


def client_order_id(pipeline: str, account: str, signal_id: str, leg: Leg) -> str:
    if not signal_id:
        raise ValueError("signal_id must not be empty")
    key = "\0".join((pipeline, account, signal_id))
    cid = f"{pipeline_prefix(pipeline)}{_hex(key, 20)}-{leg.value}"
    assert CLIENT_ID_PATTERN.match(cid), cid
    return cid
