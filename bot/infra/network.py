"""Who a request comes from, as far as we can trust it.

Behind the edge proxy every request comes from the proxy's address; the
client's own is in `X-Forwarded-For`, which anyone can write. So the header
is read only when the request comes from a proxy we run (`TRUSTED_PROXIES`:
addresses or networks), and then from the right: the first address that is
not one of our proxies is the client's.
"""

from __future__ import annotations

import ipaddress

MAX_ADDRESS_CHARS = 64


class Trusted:
    """Our proxies: addresses and networks (`127.0.0.1,::1,10.0.0.0/8`)."""

    def __init__(self, addresses: str) -> None:
        self.networks = []
        for entry in (a.strip() for a in addresses.split(",")):
            if entry:
                try:
                    self.networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError as error:
                    raise ValueError(f"not an address or network: {entry!r}") from error

    def __contains__(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in self.networks)


def trusted_set(addresses: str) -> Trusted:
    """`TRUSTED_PROXIES` as something `in` tells our proxies by."""
    return Trusted(addresses)


def _normal(address: str) -> str:
    address = address.strip()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:MAX_ADDRESS_CHARS]
    # A dual-stack server sees IPv4 peers as ::ffff:a.b.c.d.
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Trusted) -> str:
    """The client's address: the peer, or what our own proxies say it was."""
    address = _normal(peer or "unknown")
    if address not in trusted or not forwarded_for:
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop = _normal(hop)
        if hop and hop not in trusted:
            return hop
    return address


def named_client(peer: str | None, forwarded_for: str | None, trusted: Trusted) -> str | None:
    """The client's address; None for this machine or our own proxies (they name no client)."""
    client = client_address(peer, forwarded_for, trusted)
    return None if client in trusted else client
