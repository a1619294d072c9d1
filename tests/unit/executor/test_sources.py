"""The source policy: the allowlist, and whom to believe about the client address."""

from __future__ import annotations

import pytest

from fks_executor.sources import UNKNOWN, SourcePolicy


def test_empty_allowlist_allows_everyone() -> None:
    policy = SourcePolicy([], [])
    assert policy.allows("203.0.113.9")
    assert policy.allows(UNKNOWN)


def test_tradingview_preset_and_cidrs() -> None:
    policy = SourcePolicy(["tradingview", "10.0.0.0/8"], [])
    for ip in ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7", "10.1.2.3"):
        assert policy.allows(ip), ip
    for ip in ("52.89.214.239", "127.0.0.1", "::1", UNKNOWN, "garbage"):
        assert not policy.allows(ip), ip


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    policy = SourcePolicy(["tradingview"], ["10.0.0.0/8"])
    # from a trusted proxy: the right-most untrusted hop is the client
    assert policy.client("10.0.0.5", "52.89.214.238") == "52.89.214.238"
    assert policy.client("10.0.0.5", "1.2.3.4, 52.89.214.238, 10.0.0.7") == "52.89.214.238"
    # a client cannot spoof by prepending: the proxy appended the real address last
    assert policy.client("10.0.0.5", "52.89.214.238, 198.51.100.1") == "198.51.100.1"
    # from anyone else the header is ignored
    assert policy.client("198.51.100.1", "52.89.214.238") == "198.51.100.1"
    assert policy.client("10.0.0.5", None) == "10.0.0.5"
    assert policy.client("10.0.0.5", "not-an-ip") == UNKNOWN
    assert policy.client("10.0.0.5", "10.0.0.9, 10.0.0.8") == "10.0.0.9"
    assert policy.client("::ffff:52.89.214.238", None) == "52.89.214.238"
    assert policy.client(None, None) == UNKNOWN
    assert policy.client("10.0.0.5", "[2001:db8::1]:443") == "2001:db8::1"
    assert policy.client("10.0.0.5", "203.0.113.4:5555") == "203.0.113.4"


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1"])
def test_peer_is_the_client_without_proxies(peer: str) -> None:
    assert SourcePolicy([], []).client(peer, "52.89.214.238") == peer
