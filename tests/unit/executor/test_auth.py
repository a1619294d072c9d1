"""Authentication modes (SPEC §3): HMAC header(s), passphrase, either; admin auth."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from fks_executor.auth import Authenticator, sign
from fks_executor.errors import InvalidSignature

SECRET = "s3cret-value-for-auth-tests"
BODY = b'{"symbol":"BTCUSDT","action":"buy"}'
GOOD = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
TAMPERED = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")


def test_sign_is_hex_hmac_sha256_of_the_body() -> None:
    assert sign(BODY, SECRET) == GOOD
    assert len(GOOD) == 64


@pytest.mark.parametrize(
    "header",
    ["x-webhook-signature", "x-signature"],
)
@pytest.mark.parametrize(
    "value", [GOOD, GOOD.upper(), f"sha256={GOOD}", f"SHA256={GOOD}", f" {GOOD} "]
)
def test_hmac_accepts_both_headers_prefix_and_case(header: str, value: str) -> None:
    auth = Authenticator("hmac", SECRET)
    assert auth.check_signature_first(BODY, {header: value}) is True


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "signature header missing"),
        ({"x-webhook-signature": TAMPERED}, "does not match"),
        ({"x-webhook-signature": "sha256="}, "does not match"),
        ({"x-webhook-signature": "zz\u00ff\u2603"}, "does not match"),
        ({"x-signature": sign(BODY + b" ", SECRET)}, "does not match"),
        ({"x-signature": sign(BODY, SECRET + "x")}, "does not match"),
    ],
)
def test_hmac_mode_refuses_missing_or_wrong_signatures(
    headers: dict[str, str], detail: str
) -> None:
    auth = Authenticator("hmac", SECRET)
    with pytest.raises(InvalidSignature, match=detail):
        auth.check_signature_first(BODY, headers)


def test_hmac_mode_never_accepts_a_passphrase() -> None:
    auth = Authenticator("hmac", SECRET)
    with pytest.raises(InvalidSignature):
        auth.check_token(SECRET)


def test_token_mode_accepts_only_the_exact_passphrase() -> None:
    auth = Authenticator("token", SECRET)
    # A valid signature does not count in token mode.
    assert auth.check_signature_first(BODY, {"x-webhook-signature": GOOD}) is False
    auth.check_token(SECRET)
    for wrong in (SECRET + " ", SECRET.upper(), "", None, 123, [SECRET], {"a": SECRET}, "\udcff"):
        with pytest.raises(InvalidSignature):
            auth.check_token(wrong)


def test_either_mode_accepts_signature_or_passphrase() -> None:
    auth = Authenticator("hmac-or-token", SECRET)
    assert auth.check_signature_first(BODY, {"x-signature": GOOD}) is True
    # a wrong signature leaves the passphrase to try
    assert auth.check_signature_first(BODY, {"x-signature": "00"}) is False
    auth.check_token(SECRET)
    with pytest.raises(InvalidSignature):
        auth.check_token("nope")
    with pytest.raises(InvalidSignature, match="no valid signature or passphrase"):
        auth.check_token(None)


def test_admin_auth_follows_the_mode() -> None:
    path = b"/signals/abc"
    sig = {"x-webhook-signature": sign(path, SECRET)}
    bearer = {"authorization": f"Bearer {SECRET}"}
    Authenticator("hmac", SECRET).check_admin(path, sig)
    Authenticator("token", SECRET).check_admin(path, bearer)
    either = Authenticator("hmac-or-token", SECRET)
    either.check_admin(path, sig)
    either.check_admin(path, {"authorization": f"bearer {SECRET}"})
    with pytest.raises(InvalidSignature):
        Authenticator("hmac", SECRET).check_admin(path, bearer)
    with pytest.raises(InvalidSignature):
        Authenticator("token", SECRET).check_admin(path, sig)
    with pytest.raises(InvalidSignature):
        either.check_admin(b"/signals/other", sig)  # a signature is bound to its path
    with pytest.raises(InvalidSignature):
        either.check_admin(path, {})


def test_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown auth mode"):
        Authenticator("none", SECRET)
