"""Deciding when an ExchangeAccount *switched* to live, so the Warning is recorded once per switch.

The operator remembers the spec it last processed for each account (by uid). After a restart
that memory is empty; an account whose ``status.observedGeneration`` equals its generation was
processed by an earlier run (which announced any switch), so it is remembered without an
announcement. An account with newer spec than its status may have switched while no operator
ran: if it is live now, the switch is announced (at worst once more than necessary, never
missed). Events are posted before the status is written, so a crash between the two repeats
the announcement rather than losing it.
"""

from __future__ import annotations

from fks_operator.accounts import went_live
from fks_operator.specs import ExchangeAccountSpec


class LiveSwitches:
    """Last processed ExchangeAccount spec per uid."""

    def __init__(self) -> None:
        self._seen: dict[str, ExchangeAccountSpec] = {}

    def check(
        self, uid: str, spec: ExchangeAccountSpec, *, generation: int, observed_generation: int
    ) -> bool:
        """Whether processing ``spec`` now must announce a switch to live. Call :meth:`record`
        once the announcement is made (or straight away when there is none)."""
        previous = self._seen.get(uid)
        if previous is None and observed_generation >= generation > 0:
            return False  # processed by an earlier run, which announced whatever was due
        return went_live(previous, spec)

    def record(self, uid: str, spec: ExchangeAccountSpec) -> None:
        self._seen[uid] = spec

    def forget(self, uid: str) -> None:
        self._seen.pop(uid, None)
