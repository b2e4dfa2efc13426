"""Where a webhook may send: no loopback, private, link-local or metadata addresses (SSRF)."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services that are not in a private or link-local range already.
_METADATA = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not the public internet
# 6to4 embeds an IPv4 address a relay may forward to (2002:7f00:1:: is 127.0.0.1): refused
# whole, as no receiver needs it.
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
# The same message for every refused host: telling "does not resolve" from "resolves to
# 10.0.0.7" would let anyone who can create a project map the internal network.
REFUSED = "The URL's host is not a public internet address (or does not resolve)."


class UnsafeTarget(ValueError):
    """A URL that may not be sent to: the message says why."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: its host, port, and the addresses it resolved to."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def refused(address: IpAddress) -> bool:
    """Whether an address is one a webhook may not reach by default."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refused(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in _METADATA
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
        or (isinstance(address, ipaddress.IPv6Address) and address in _SIX_TO_FOUR)
        or not address.is_global
    )


def split(url: str) -> tuple[str, str, int]:
    """The scheme, host (IDNA-encoded) and port of an http(s) URL; UnsafeTarget when it has
    none. Parsed by httpx, which sends it: what is checked is what is sent."""
    try:
        parts = httpx.URL(url)
        # The name httpx connects to (IDNA-encoded), and decoded as httpx decodes it when it
        # sends: where an invalid IDNA label (`xn--n3h.net`) raises.
        host = parts.raw_host.decode("ascii")
        named = parts.host
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are UnicodeErrors
        raise UnsafeTarget("The URL is not a valid http:// or https:// URL.") from exc
    if parts.scheme not in ("http", "https") or not host or not named:
        raise UnsafeTarget("The URL must be an absolute http:// or https:// URL.")
    if parts.userinfo:
        raise UnsafeTarget("The URL may not carry a user name or password.")
    # httpx gives None for the scheme's default port, and 0 as it is (never a real server's).
    port = parts.port if parts.port is not None else 443 if parts.scheme == "https" else 80
    if not 0 < port < 65536:
        raise UnsafeTarget("The URL's port is not valid.")
    return parts.scheme, host, port


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolve a webhook URL, refusing private targets unless `allow_private`."""
    scheme, host, port = split(url)
    if allow_private:
        return Target(scheme, host, port, ())
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise UnsafeTarget(REFUSED) from exc
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    # Every address must be safe: a name with one public and one private address is refused,
    # since the connection could go to either.
    if not found or any(refused(address) for address in found):
        raise UnsafeTarget(REFUSED)
    return Target(scheme, host, port, tuple(dict.fromkeys(str(address) for address in found)))
