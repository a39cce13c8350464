"""Whether a name or an address is this machine's loopback: the one test behind the
guard's Host and Origin checks, the keys' "callers on this machine", and the storage
clients that skip the environment's proxy settings for Azurite."""

from __future__ import annotations

import ipaddress


def is_loopback_name(name: str) -> bool:
    """`localhost` (and names under it, RFC 6761) or a loopback IP address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    return is_loopback_address(name)


def is_loopback_address(address: str | None) -> bool:
    """A loopback IP address, an IPv4 one mapped into IPv6 too (a dual-stack socket's
    peer); False for anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)
