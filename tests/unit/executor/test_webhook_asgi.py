"""The webhook's ASGI edge: headers as intake sees them, and the body read under its limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from fks_executor.app import header_map, read_limited
from fks_executor.errors import BodyTooLarge, InvalidJson


def receiving(*messages: dict[str, Any]) -> tuple[Callable[[], Awaitable[Any]], list[int]]:
    """An ASGI ``receive`` handing out ``messages`` in order, and how many were taken."""
    taken = [0]

    async def receive() -> Any:
        taken[0] += 1
        return messages[taken[0] - 1]

    return receive, taken


def test_header_names_are_lower_case_and_repeated_lines_are_joined() -> None:
    scope = {
        "headers": [
            (b"Content-Type", b"application/json"),
            (b"x-forwarded-for", b"198.51.100.9"),
            (b"X-Forwarded-For", b"52.89.214.238"),
        ]
    }
    assert header_map(scope) == {
        "content-type": "application/json",
        "x-forwarded-for": "198.51.100.9, 52.89.214.238",
    }


async def test_a_body_in_several_chunks_is_read_whole() -> None:
    receive, taken = receiving(
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    )
    assert await read_limited(receive, {}, 64) == b'{"a":1}'
    assert taken[0] == 3


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    receive, taken = receiving()
    with pytest.raises(BodyTooLarge):
        await read_limited(receive, {"content-length": "65"}, 64)
    assert taken[0] == 0


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    receive, taken = receiving(
        {"type": "http.request", "body": b"x" * 40, "more_body": True},
        {"type": "http.request", "body": b"x" * 40, "more_body": True},
        {"type": "http.request", "body": b"never read", "more_body": False},
    )
    with pytest.raises(BodyTooLarge):
        await read_limited(receive, {}, 64)
    assert taken[0] == 2


async def test_a_client_gone_mid_body_is_invalid_json_not_an_internal_error() -> None:
    receive, _ = receiving(
        {"type": "http.request", "body": b'{"symbol":', "more_body": True},
        {"type": "http.disconnect"},
    )
    with pytest.raises(InvalidJson, match="disconnected before the body was complete"):
        await read_limited(receive, {"content-length": "100"}, 64 * 1024)
