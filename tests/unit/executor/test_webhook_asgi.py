"""The webhook's edge: headers as intake sees them, and the body read under its limit (the body
timeout is tested behind a real server: test_execution.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fks_executor.app import RequestBody, header_map
from fks_executor.errors import BodyTooLarge, InvalidJson
from fks_executor.intake import read_body


def streaming(*chunks: bytes) -> tuple[AsyncIterator[bytes], list[int]]:
    """A body arriving in ``chunks``, and how many were taken."""
    taken = [0]

    async def chunked() -> AsyncIterator[bytes]:
        for chunk in chunks:
            taken[0] += 1
            yield chunk

    return chunked(), taken


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
    body, taken = streaming(b'{"a":', b"", b"1}")
    assert await read_body(body, None, limit=64) == b'{"a":1}'
    assert taken[0] == 3


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    body, taken = streaming(b"x")
    with pytest.raises(BodyTooLarge):
        await read_body(body, "65", limit=64)
    assert taken[0] == 0


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    body, taken = streaming(b"x" * 40, b"x" * 40, b"never read")
    with pytest.raises(BodyTooLarge):
        await read_body(body, None, limit=64)
    assert taken[0] == 2


async def test_a_client_gone_mid_body_is_invalid_json_not_an_internal_error() -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"symbol":', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    with pytest.raises(InvalidJson, match="disconnected before the body was complete"):
        await read_body(RequestBody(receive), "100", limit=64 * 1024)
