"""Where a webhook may send: no loopback, private, link-local or metadata addresses (SSRF)."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services that are not in a private or link-local range already.
_METADATA = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not the public internet


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
        or not address.is_global
    )


def split(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of an http(s) URL; UnsafeTarget when it has none."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("The URL must be an absolute http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("The URL may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTarget("The URL's port is not valid.") from exc
    return parts.scheme, parts.hostname, port


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
            raise UnsafeTarget(f"The host {host!r} does not resolve.") from exc
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise UnsafeTarget(f"The host {host!r} does not resolve.")
    # Every address must be safe: a name with one public and one private address is refused,
    # since the connection could go to either.
    for address in found:
        if refused(address):
            raise UnsafeTarget(
                f"The host {host!r} resolves to {address}, a loopback, private, link-local, "
                "multicast, reserved or metadata address; webhooks may not send there."
            )
    return Target(scheme, host, port, tuple(dict.fromkeys(str(address) for address in found)))
