from __future__ import annotations

import pytest

from fks_fake_exchange.app import _is_loopback


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("192.168.1.2", False),
        ("not-an-ip", False),
        (None, False),
    ],
)
def test_control_api_is_for_loopback_clients_only(remote: str | None, expected: bool) -> None:
    assert _is_loopback(remote) is expected
