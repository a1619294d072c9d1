from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.params import Params, merge_params


def test_query_and_body_merge_and_query_wins() -> None:
    merged = merge_params("symbol=BTCUSDT&side=SELL", "side=BUY&quantity=1")
    assert merged == {"symbol": "BTCUSDT", "side": "SELL", "quantity": "1"}


def test_percent_encoding_is_decoded_for_values() -> None:
    assert merge_params("", "newClientOrderId=a%2Fb%3Ac") == {"newClientOrderId": "a/b:c"}


def test_duplicate_parameter_in_one_part_is_refused() -> None:
    with pytest.raises(ApiError) as info:
        merge_params("a=1&a=2", "")
    assert info.value.code == -1101


def test_typed_getters() -> None:
    params = Params({"q": "0.001", "n": "5", "b": "true", "empty": "", "bad": "1e5", "neg": "-1"})
    assert params.decimal("q") == Decimal("0.001")
    assert params.decimal("missing") is None
    assert params.integer("n") == 5
    assert params.boolean("b") is True
    with pytest.raises(ApiError, match="-1105"):
        params.text("empty")
    with pytest.raises(ApiError, match="-1100"):
        params.decimal("bad")  # no exponents on Binance
    with pytest.raises(ApiError, match="-1100"):
        params.decimal("neg")
    with pytest.raises(ApiError, match="-1102"):
        params.require_decimal("missing")
    with pytest.raises(ApiError, match="-1100"):
        params.integer("q")
    with pytest.raises(ApiError, match="-1130"):
        Params({"b": "yes"}).boolean("b")
