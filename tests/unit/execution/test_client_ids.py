"""Client order ids: deterministic, distinct, within Binance's limits."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from fks_executor.exchange.client_ids import (
    CLIENT_ID_PATTERN,
    Leg,
    client_order_id,
    pipeline_prefix,
)


def test_same_inputs_same_id_and_every_leg_differs() -> None:
    a = client_order_id("btc-momentum", "binance-testnet", "sig-1", Leg.ENTRY)
    assert a == client_order_id("btc-momentum", "binance-testnet", "sig-1", Leg.ENTRY)
    ids = {client_order_id("btc-momentum", "binance-testnet", "sig-1", leg) for leg in Leg}
    assert len(ids) == len(Leg)
    assert a.startswith(pipeline_prefix("btc-momentum"))
    assert a.endswith("-en")


def test_pipelines_accounts_and_signals_never_share_an_id() -> None:
    base = client_order_id("p", "a", "s", Leg.ENTRY)
    assert client_order_id("p2", "a", "s", Leg.ENTRY) != base
    assert client_order_id("p", "a2", "s", Leg.ENTRY) != base
    assert client_order_id("p", "a", "s2", Leg.ENTRY) != base
    # no ambiguity from concatenation
    assert client_order_id("p", "ab", "c", Leg.ENTRY) != client_order_id("p", "a", "bc", Leg.ENTRY)
    assert pipeline_prefix("p") != pipeline_prefix("p2")


@given(
    pipeline=st.text(min_size=1, max_size=253),
    account=st.text(min_size=1, max_size=253),
    signal_id=st.text(min_size=1, max_size=64),
    leg=st.sampled_from(list(Leg)),
)
def test_any_input_gives_a_valid_binance_client_id(
    pipeline: str, account: str, signal_id: str, leg: Leg
) -> None:
    cid = client_order_id(pipeline, account, signal_id, leg)
    assert CLIENT_ID_PATTERN.match(cid)
    assert len(cid) <= 36
    assert set(cid) <= set(string.ascii_lowercase + string.digits + "-")
