from __future__ import annotations

import pytest
from pydantic import ValidationError

from fks_fake_exchange.faults import FaultBook, FaultSpec


def test_first_matching_fault_fires_once_per_request() -> None:
    book = FaultBook()
    order = book.add(FaultSpec(kind="http_error", method="post", path="/api/v3/order"))
    anything = book.add(FaultSpec(kind="latency", delayMs=5, count=2))
    assert book.take("GET", "/api/v3/account") is anything
    assert book.take("POST", "/api/v3/order") is order
    assert book.take("POST", "/api/v3/order") is anything
    assert book.take("POST", "/api/v3/order") is None
    assert book.fired_total == 3
    assert book.active() == []


def test_skip_lets_requests_through_first() -> None:
    book = FaultBook()
    fault = book.add(FaultSpec(kind="drop", path="/api/v3/*", skip=2))
    assert book.take("GET", "/api/v3/time") is None
    assert book.take("GET", "/fapi/v1/time") is None  # not matching: not counted
    assert book.take("GET", "/api/v3/ping") is None
    assert book.take("GET", "/api/v3/ping") is fault


def test_error_bodies() -> None:
    book = FaultBook()
    rate = book.add(FaultSpec(kind="rate_limit", retryAfter=7)).error(0)
    assert (rate.status, rate.code, rate.headers) == (429, -1003, {"Retry-After": "7"})
    ban = book.add(FaultSpec(kind="ban", retryAfter=2)).error(1_000)
    assert ban.status == 418
    assert "banned until 3000" in ban.msg
    preset = book.add(FaultSpec(kind="reject", preset="invalid_api_key")).error(0)
    assert (preset.status, preset.code) == (401, -2015)
    custom = book.add(FaultSpec(kind="reject", code=-1003, msg="slow down", status=429)).error(0)
    assert (custom.status, custom.code, custom.msg) == (429, -1003, "slow down")
    assert book.add(FaultSpec(kind="http_error", status=503)).http_body() == (
        503, "Service Unavailable", "text/plain",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "latency"}, "needs delayMs > 0"),
        ({"kind": "http_error", "status": 404}, "http_error is for 5xx"),
        ({"kind": "reject", "code": -1}, "needs a preset, or both code and msg"),
        ({"kind": "reject", "preset": "lot_size", "code": -1, "msg": "x"}, "either preset or code"),
        ({"kind": "drop", "method": "PATCH"}, "must be GET, POST, PUT or DELETE"),
        ({"kind": "drop", "count": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_specs(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaultSpec.model_validate(spec)


def test_view_shows_what_was_asked() -> None:
    fault = FaultBook().add(FaultSpec(kind="lost_answer", path="/api/v3/order", hangMs=5000))
    assert fault.view() == {
        "id": 1,
        "kind": "lost_answer",
        "path": "/api/v3/order",
        "hangMs": 5000,
        "remaining": 1,
        "fired": 0,
    }
