"""Client addresses behind trusted proxies: spoofing, proxy chains, malformed headers, IPv6."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from entrypoints.http.client_ip import ClientAddressResolver, client_group, parse_address
from entrypoints.settings import parse_trusted_proxies


def resolver(trusted: str = "127.0.0.1") -> ClientAddressResolver:
    return ClientAddressResolver(parse_trusted_proxies(trusted))


def client(peer: str | None, *forwarded_for: str, trusted: str = "127.0.0.1") -> str:
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for]
    scope = {"type": "http", "client": (peer, 5000) if peer else None, "headers": headers}
    return resolver(trusted).client_of(scope)


def test_without_a_proxy_the_peer_is_the_client() -> None:
    assert client("198.51.100.7") == "198.51.100.7"


def test_a_header_from_an_untrusted_peer_changes_nothing() -> None:
    assert client("198.51.100.7", "203.0.113.1") == "198.51.100.7"
    assert client("198.51.100.7", "127.0.0.1") == "198.51.100.7"


def test_a_trusted_proxy_names_the_client() -> None:
    assert client("127.0.0.1", "203.0.113.1") == "203.0.113.1"


def test_a_client_cannot_choose_its_address_by_sending_the_header_itself() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the real peer.
    assert client("127.0.0.1", "1.1.1.1, 203.0.113.1") == "203.0.113.1"
    assert client("127.0.0.1", "1.1.1.1", "203.0.113.1") == "203.0.113.1"


def test_a_chain_of_trusted_proxies_is_followed_right_to_left() -> None:
    trusted = "127.0.0.1, 10.0.0.0/8"

    assert client("127.0.0.1", "6.6.6.6, 203.0.113.1, 10.1.2.3", trusted=trusted) == "203.0.113.1"
    assert client("10.0.0.9", "6.6.6.6, 203.0.113.1", "10.1.2.3", trusted=trusted) == (
        "203.0.113.1"
    )


def test_when_every_hop_is_trusted_the_farthest_one_is_the_client() -> None:
    assert client("10.0.0.1", "10.0.0.3, 10.0.0.2", trusted="10.0.0.0/8") == "10.0.0.3"


def test_a_trusted_peer_without_the_header_is_the_client() -> None:
    assert client("127.0.0.1") == "127.0.0.1"


@pytest.mark.parametrize(
    "header",
    ["not-an-ip", "", " , ", "unknown", "203.0.113.1, garbage", "1.2.3.4.5", "x" * 300],
)
def test_a_malformed_nearest_entry_stops_at_the_last_trusted_hop(header: str) -> None:
    assert client("127.0.0.1", header) == "127.0.0.1"
    assert client("10.0.0.1", f"{header}, 10.0.0.2", trusted="10.0.0.0/8") == "10.0.0.2"


def test_malformed_entries_beyond_the_client_are_never_read() -> None:
    assert client("127.0.0.1", "garbage, <script>, 203.0.113.1") == "203.0.113.1"


def test_entries_with_ports_and_brackets_are_addresses() -> None:
    assert client("127.0.0.1", "203.0.113.1:4711") == "203.0.113.1"
    assert client("127.0.0.1", "[2001:db8::1]:4711") == "2001:db8::/64"


def test_ipv6_clients_are_grouped_by_64() -> None:
    one = client("2001:db8:1:2:aaaa::1")
    neighbour = client("2001:db8:1:2:ffff:1:2:3")
    elsewhere = client("2001:db8:1:3::1")

    assert one == neighbour == "2001:db8:1:2::/64"
    assert elsewhere != one


def test_ipv4_mapped_ipv6_is_the_ipv4_address_for_trust_and_identity() -> None:
    assert client("::ffff:198.51.100.7") == "198.51.100.7"
    assert client("::ffff:127.0.0.1", "::ffff:203.0.113.1") == "203.0.113.1"


def test_a_star_trusts_every_peer() -> None:
    assert client("198.51.100.7", "203.0.113.1", trusted="*") == "203.0.113.1"


def test_peers_that_are_not_addresses_are_kept_as_they_are() -> None:
    assert client(None) == "unknown"
    assert client("testclient", "203.0.113.1") == "testclient"


def test_address_parsing() -> None:
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"
    assert parse_address("192.0.2.1:99999x") is None
    assert parse_address("[::1") is None
    assert parse_address("[::1]x") is None
    assert parse_address("[::1]:") is None
    assert str(parse_address("[::1]:80")) == "::1"
    assert client_group(IPv6Address("2001:db8::1")) == "2001:db8::/64"


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.internal", "1.2.3"])
def test_bad_trusted_proxy_settings_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        parse_trusted_proxies(value)


def test_one_resolver_keeps_every_request_apart() -> None:
    # One resolver per app remembers what it resolved: repeated and long chains must still
    # name each request's own client.
    shared = resolver("127.0.0.1, 10.0.0.0/8")
    long_chain = ", ".join(["10.0.0.1"] * 40) + ", 198.51.100.9, 10.0.0.2"

    def of(peer: str, *forwarded_for: str) -> str:
        headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for]
        return shared.client_of({"type": "http", "client": (peer, 5000), "headers": headers})

    for _ in range(2):
        assert of("127.0.0.1", "203.0.113.1") == "203.0.113.1"
        assert of("127.0.0.1", "203.0.113.2") == "203.0.113.2"
        assert of("198.51.100.7", "203.0.113.1") == "198.51.100.7"
        assert of("127.0.0.1", "203.0.113.1", "10.0.0.5") == "203.0.113.1"
        assert of("127.0.0.1", long_chain) == "198.51.100.9"
        assert of("127.0.0.1") == "127.0.0.1"


def _scope(peer: str | None, *forwarded_for: str) -> dict[str, object]:
    return {
        "client": (peer, 5000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
    }


def test_the_recorded_address_is_the_limiter_s_client_in_full_not_its_group() -> None:
    behind_proxy = _scope("127.0.0.1", "2001:db8:1:2:3:4:5:6")

    assert resolver().address_of(behind_proxy) == "2001:db8:1:2:3:4:5:6"
    assert resolver().client_of(behind_proxy) == "2001:db8:1:2::/64"
    assert resolver().address_of(_scope("198.51.100.9", "203.0.113.1")) == "198.51.100.9"
    assert resolver().address_of(_scope(None)) is None
