"""API-key and HMAC-SHA256 signature checks for SIGNED (TRADE / USER_DATA) endpoints.

Binance signs ``totalParams`` = the raw query string concatenated with the raw request body,
minus the ``signature`` parameter itself. The check runs over those raw bytes, exactly as the
client sent them: nothing is decoded and re-encoded, so an encoding difference between client and
server is a signature failure here as it is on Binance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from fks_fake_exchange.errors import ApiError, mandatory

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
# Binance refuses timestamps more than this far ahead of its own clock.
MAX_AHEAD_MS = 1_000

API_KEY_HEADER = "X-MBX-APIKEY"


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` with ``secret`` (what a Binance client appends)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` component, and that signature (None when absent)."""
    if not raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def signed_payload(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """The bytes Binance signs (query + body without ``signature``) and the signature sent."""
    query, query_signature = strip_signature(raw_query)
    body, body_signature = strip_signature(raw_body)
    return query + body, query_signature if query_signature is not None else body_signature


def check_api_key(api_key: str | None, keys: Mapping[str, str]) -> str:
    """The secret for ``api_key``; -2014 when it is missing or malformed, -2015 when unknown."""
    if api_key is None or api_key == "" or not api_key.isascii() or " " in api_key:
        raise ApiError(-2014, "API-key format invalid.", status=401)
    secret = keys.get(api_key)
    if secret is None:
        raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
    return secret


def check_signature(secret: str, raw_query: str, raw_body: str) -> None:
    payload, signature = signed_payload(raw_query, raw_body)
    if signature is None or signature == "":
        raise mandatory("signature")
    expected = sign(secret, payload)
    if not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(-1022, "Signature for this request is not valid.")


def check_timestamp(timestamp: str | None, recv_window: str | None, now_ms: int) -> None:
    """Accept if ``timestamp < now + 1000`` and ``now - timestamp <= recvWindow`` (Binance)."""
    if timestamp is None or timestamp == "":
        raise mandatory("timestamp")
    try:
        ts = int(timestamp)
    except ValueError:
        raise mandatory("timestamp") from None
    window = DEFAULT_RECV_WINDOW_MS
    if recv_window is not None and recv_window != "":
        try:
            window = int(recv_window)
        except ValueError:
            raise mandatory("recvWindow") from None
        if window > MAX_RECV_WINDOW_MS or window <= 0:
            raise ApiError(-1131, "recvWindow must be less than 60000")
    if ts >= now_ms + MAX_AHEAD_MS:
        raise ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - ts > window:
        raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify(
    *,
    api_key: str | None,
    keys: Mapping[str, str],
    raw_query: str,
    raw_body: str,
    timestamp: str | None,
    recv_window: str | None,
    now_ms: int,
) -> None:
    """All checks of a SIGNED request, in Binance's order: key, signature, then clock."""
    secret = check_api_key(api_key, keys)
    check_signature(secret, raw_query, raw_body)
    check_timestamp(timestamp, recv_window, now_ms)
