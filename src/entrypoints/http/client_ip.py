"""The client address a request counts against: the socket peer, or what trusted proxies say.

`X-Forwarded-For` is believed only when the socket peer is a trusted proxy, and then only as far
as the chain of trusted proxies goes: read right to left, the first address that is not itself
a trusted proxy is the client. Whatever a client writes further left is never read, so it cannot
choose its own address. IPv6 clients are grouped by /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
IPV6_CLIENT_PREFIX = 64
UNKNOWN_CLIENT = "unknown"
CLIENT_CACHE_SIZE = 4096
# Forwarding chains longer than this are resolved afresh, never cached: the header is the
# client's to make up, and the cache must stay small whatever it sends (4096 x 256 bytes).
_CACHED_CHAIN_LENGTH = 256
# Longer entries cannot be addresses; refusing them early bounds the parsing work per request.
_MAX_ENTRY_LENGTH = 64
_MAX_PORT = 65535
_BRACKETED = re.compile(r"\[([^\]]*)\](?::(\d{1,5}))?")
_HOST_PORT = re.compile(r"([^:]*):(\d{1,5})")


def parse_address(value: str) -> IPAddress | None:
    """An address from a peer or forwarded entry (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`), or None.

    An IPv4-mapped IPv6 address is its IPv4 address, so both spellings count as one client.
    """
    value = value.strip()
    if not value or len(value) > _MAX_ENTRY_LENGTH:
        return None
    host = _host(value)
    if host is None:
        return None
    try:
        address = ip_address(host)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _host(value: str) -> str | None:
    """The host of `host`, `host:port` or `[v6]:port`; None when the port part is malformed."""
    if value.startswith("["):
        match = _BRACKETED.fullmatch(value)
    elif value.count(":") == 1:
        match = _HOST_PORT.fullmatch(value)
    else:
        return value
    if match is None or int(match.group(2) or 0) > _MAX_PORT:
        return None
    return match.group(1)


def client_group(address: IPAddress) -> str:
    """The identity a client is limited under: its IPv4 address, or its IPv6 /64."""
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


class ClientAddressResolver:
    """Finds the client behind the trusted proxies (`None` trusts every peer: `*`)."""

    def __init__(self, trusted: Sequence[IPNetwork] | None) -> None:
        self._trust_all = trusted is None
        self._trusted = tuple(trusted or ())
        # The same peer and forwarding chain always resolve alike, and a worker sees the same
        # few again and again: parsing addresses costs more than the rest of this lookup.
        self._identity = functools.lru_cache(maxsize=CLIENT_CACHE_SIZE)(self._identity_of)
        self._address = functools.lru_cache(maxsize=CLIENT_CACHE_SIZE)(self._address_of)

    def _is_trusted(self, address: IPAddress) -> bool:
        return self._trust_all or any(address in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: Iterable[str]) -> IPAddress | None:
        """The client's address; None when no address is known (no peer, e.g. a Unix socket)."""
        peer_address = parse_address(peer) if peer else None
        if peer_address is None or not self._is_trusted(peer_address):
            return peer_address
        entries = [entry for header in forwarded_for for entry in header.split(",")]
        nearest = peer_address
        for entry in reversed(entries):
            address = parse_address(entry)
            if address is None:
                # A trusted proxy passed on something that is not an address: stop at the last
                # hop we can vouch for rather than guess.
                return nearest
            if not self._is_trusted(address):
                return address
            nearest = address
        # Every hop is a trusted proxy: the farthest one is as close to the client as we get.
        return nearest

    def client_of(self, scope: Scope) -> str:
        """The client identity of an ASGI request: its address grouped by `client_group`."""
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded = tuple(
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
        )
        if sum(map(len, forwarded)) > _CACHED_CHAIN_LENGTH:
            return self._identity_of(peer, forwarded)
        identity: str = self._identity(peer, forwarded)
        return identity

    def address_of(self, scope: Scope) -> str | None:
        """The full client address of an ASGI request (not grouped), for the records it leaves."""
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded = tuple(
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
        )
        if sum(map(len, forwarded)) > _CACHED_CHAIN_LENGTH:
            return self._address_of(peer, forwarded)
        address: str | None = self._address(peer, forwarded)
        return address

    def _address_of(self, peer: str | None, forwarded: tuple[str, ...]) -> str | None:
        address = self.resolve(peer, forwarded)
        return str(address) if address is not None else None

    def _identity_of(self, peer: str | None, forwarded: tuple[str, ...]) -> str:
        address = self.resolve(peer, forwarded)
        if address is None:
            return peer or UNKNOWN_CLIENT
        return client_group(address)
