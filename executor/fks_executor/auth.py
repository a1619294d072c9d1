"""Webhook authentication: HMAC signature header, body passphrase, or either
(docs/executor.md, "Authentication").

- ``hmac``: ``X-Webhook-Signature`` (or ``X-Signature``) is the hex HMAC-SHA256 of the raw
  body keyed with the shared secret, optionally prefixed ``sha256=``.
- ``token``: the JSON body's ``passphrase`` equals the shared secret (TradingView cannot set
  headers).
- ``hmac-or-token``: a valid signature or a valid passphrase.

Every comparison is constant-time (``hmac.compare_digest`` on bytes). The admin endpoint
``GET /signals/{id}`` uses the same modes: the signature is the HMAC of the request path
(e.g. ``/signals/abc``) instead of a body, and the token is ``Authorization: Bearer <secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from fks_executor.errors import InvalidSignature

__all__ = [
    "EXAMPLE_SECRETS",
    "MIN_SECRET_BYTES",
    "SIGNATURE_HEADERS",
    "Authenticator",
    "secret_weakness",
    "sign",
]

SIGNATURE_HEADERS = ("x-webhook-signature", "x-signature")
#: The shortest webhook secret the executor starts with (``openssl rand -hex 32`` gives 64);
#: the operator holds pipelines to the same rule (docs/crds.md).
MIN_SECRET_BYTES = 32
#: Webhook secrets printed in examples/ and docs/: public, so never a secret. A unit test
#: (tests/unit/operator/test_webhook_secret.py) keeps this list complete.
EXAMPLE_SECRETS = frozenset({b"replace-with-a-long-random-string"})


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` must not guard the webhook (never repeating it), or None."""
    value = secret.encode("utf-8", "surrogateescape")
    if value.strip() in EXAMPLE_SECRETS:
        return "is the example value from examples/ or docs/: set a long random value"
    if len(value) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes: use a long random value"
    return None


def sign(message: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of ``message`` (what a sender puts in ``X-Webhook-Signature``)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class Authenticator:
    """Checks one request against the configured mode; raises ``InvalidSignature``."""

    def __init__(self, mode: str, secret: str) -> None:
        if mode not in ("hmac", "token", "hmac-or-token"):
            raise ValueError(f"unknown auth mode {mode!r}")
        self.mode = mode
        self._key = secret.encode()
        self._token = _as_bytes(secret)
        self.accepts_hmac = mode in ("hmac", "hmac-or-token")
        self.accepts_token = mode in ("token", "hmac-or-token")

    @staticmethod
    def signature_of(headers: Mapping[str, str]) -> str | None:
        for name in SIGNATURE_HEADERS:
            value = headers.get(name)
            if value is not None:
                return value
        return None

    def signature_ok(self, message: bytes, provided: str) -> bool:
        text = provided.strip()
        if text[:7].lower() == "sha256=":
            text = text[7:]
        expected = hmac.new(self._key, message, hashlib.sha256).hexdigest().encode()
        return hmac.compare_digest(expected, _as_bytes(text.lower()))

    def token_ok(self, provided: Any) -> bool:
        if not isinstance(provided, str):
            return False
        return hmac.compare_digest(self._token, _as_bytes(provided))

    def check_signature_first(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Before the body is parsed: True when a valid signature authenticates the request.

        In ``hmac`` mode a missing or wrong signature is refused here; in ``hmac-or-token`` a
        wrong one still leaves the passphrase to try (``check_token``).
        """
        if not self.accepts_hmac:
            return False
        provided = self.signature_of(headers)
        if provided is not None and self.signature_ok(raw, provided):
            return True
        if self.mode == "hmac":
            raise InvalidSignature(
                "signature does not match" if provided is not None else "signature header missing"
            )
        return False

    def check_token(self, passphrase: Any) -> None:
        """After parsing, for a request no signature authenticated."""
        if self.accepts_token and self.token_ok(passphrase):
            return
        if passphrase is None:
            raise InvalidSignature("no valid signature or passphrase")
        raise InvalidSignature("signature or passphrase does not match")

    def check_admin(self, path: bytes, headers: Mapping[str, str]) -> None:
        """``GET /signals/{id}``: HMAC of the path, or ``Authorization: Bearer <secret>``."""
        if self.accepts_hmac:
            provided = self.signature_of(headers)
            if provided is not None and self.signature_ok(path, provided):
                return
        if self.accepts_token:
            bearer = headers.get("authorization", "")
            if bearer[:7].lower() == "bearer " and self.token_ok(bearer[7:].strip()):
                return
        raise InvalidSignature("admin requests need the webhook's signature or bearer token")
