"""`--forward [LOCAL:]REMOTE` and `[LOCAL:]HOST:REMOTE`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sessiontui.core.errors import UsageError


@dataclass(frozen=True)
class ForwardSpec:
    remote_port: int
    host: str | None = None
    local_port: int = 0  # 0: the plugin picks a free port


# a DNS name (RDS, ElastiCache, an internal zone) or an IPv4 or IPv6 address
_HOST = re.compile(r"[A-Za-z0-9_.:-]+")


def host_problem(host: str) -> str:
    """Why `host` cannot be the host behind the node, in words; "" when it can be.

    A number alone is a port typed one field too soon (no DNS name is all digits, and an
    address has dots or colons): forwarding to host "18080" would only fail on the node."""
    if host.isdigit():
        return f"{host} is a port number, not a host name or address"
    if not _HOST.fullmatch(host):
        return f"{host!r} is not a host name or IP address"
    return ""


def _port(text: str, what: str, allow_zero: bool = False) -> int:
    if not text.isdigit():
        raise UsageError(f"--forward: {what} port {text!r} is not a number")
    port = int(text)
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise UsageError(f"--forward: {what} port {port} is out of range")
    return port


def parse_forward(spec: str) -> ForwardSpec:
    parts = spec.strip().split(":")
    if not spec.strip() or len(parts) > 3 or any(p == "" for p in parts[-1:]):
        raise UsageError(f"--forward {spec!r}: write [LOCAL:]REMOTE or [LOCAL:]HOST:REMOTE")
    if len(parts) == 1:
        return ForwardSpec(_port(parts[0], "remote"))
    if len(parts) == 2:
        first, remote = parts
        if first.isdigit():
            return ForwardSpec(_port(remote, "remote"), None, _port(first, "local", True))
        if not first:
            raise UsageError(f"--forward {spec!r}: empty host")
        if why := host_problem(first):
            raise UsageError(f"--forward {spec!r}: {why}")
        return ForwardSpec(_port(remote, "remote"), first)
    local, host, remote = parts
    if not host:
        raise UsageError(f"--forward {spec!r}: empty host")
    if why := host_problem(host):
        raise UsageError(f"--forward {spec!r}: {why}")
    return ForwardSpec(_port(remote, "remote"), host, _port(local, "local", True) if local else 0)
