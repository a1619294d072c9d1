"""Who sent a request: the client address (``X-Forwarded-For`` from trusted proxies only) and
whether it may send alerts (``webhook.allowedSources``: CIDRs and the ``tradingview`` preset).

The client is the TCP peer, unless the peer is a trusted proxy: then ``X-Forwarded-For`` is
walked from the right (the entry the nearest proxy appended) past every trusted proxy, and the
first address that is not one is the client. An unparseable entry there makes the client
unknown, which no allowlist admits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from fks_executor.config import TRADINGVIEW_SOURCES

__all__ = ["UNKNOWN", "SourcePolicy"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"


def _networks(items: Iterable[str]) -> tuple[Network, ...]:
    out: list[Network] = []
    for item in items:
        if item == "tradingview":
            out.extend(ipaddress.ip_network(n) for n in TRADINGVIEW_SOURCES)
        else:
            out.append(ipaddress.ip_network(item, strict=False))
    return tuple(out)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class SourcePolicy:
    def __init__(self, allowed: Iterable[str], trusted_proxies: Iterable[str]) -> None:
        self.allowed = _networks(allowed)
        self.trusted = _networks(trusted_proxies)
        self._cache: dict[str, bool] = {}
        self._peers: dict[str, str] = {}

    @staticmethod
    def _within(address: Address, networks: tuple[Network, ...]) -> bool:
        return any(address in network for network in networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client address as text (``UNKNOWN`` when it cannot be told)."""
        if not peer:
            return UNKNOWN
        if not self.trusted or not forwarded_for:
            return self._peer(peer)
        peer_address = _address(peer)
        if peer_address is None:
            return UNKNOWN
        if not self._within(peer_address, self.trusted):
            return str(peer_address)
        for hop in reversed(forwarded_for.split(",")):
            hop_address = _address(hop)
            if hop_address is None:
                return UNKNOWN
            if not self._within(hop_address, self.trusted):
                return str(hop_address)
        # Every hop is a trusted proxy: the left-most is as close to the client as we get.
        return str(_address(forwarded_for.split(",")[0]))

    def _peer(self, peer: str) -> str:
        cached = self._peers.get(peer)
        if cached is None:
            address = _address(peer)
            cached = str(address) if address is not None else UNKNOWN
            if len(self._peers) < 10_000:
                self._peers[peer] = cached
        return cached

    def allows(self, client: str) -> bool:
        """True when the allowlist is empty or ``client`` is inside it."""
        if not self.allowed:
            return True
        cached = self._cache.get(client)
        if cached is not None:
            return cached
        address = _address(client) if client != UNKNOWN else None
        verdict = address is not None and self._within(address, self.allowed)
        if len(self._cache) < 10_000:
            self._cache[client] = verdict
        return verdict
