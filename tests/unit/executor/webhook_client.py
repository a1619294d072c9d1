"""Calls to the webhook as a client makes them, and the answer's shape every answer has."""

from __future__ import annotations

from typing import Any

from tests.unit.executor.helpers import raw


def answer(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) >= {"status", "reason", "signal_id", "order"}, body
    return body


async def post(http: Any, body: bytes | dict[str, Any], **headers: str) -> Any:
    content = raw(body) if isinstance(body, dict) else body
    return await http.post("/webhook/tradingview", content=content, headers=headers)
