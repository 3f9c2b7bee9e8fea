"""Which local user holds the other end of a loopback connection, as identd answers it.

The sandbox's pages (Identity Center's device approval among them) are for the person who runs
it. A secret cannot guard them, since the page is what hands the browser its CSRF token, and any
local user can open it. The kernel knows better: /proc/net/tcp lists each socket with its owner's
uid, and the client's socket is the one whose local address is the request's remote address.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _address(text: str) -> tuple[str, int]:
    """/proc's `0100007F:1F90` (address bytes in the kernel's order, port in hex) as (ip, port)."""
    raw, port = text.split(":")
    data = bytes.fromhex(raw)
    # each 32-bit word is in host (little-endian) order
    words = b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))
    ip = ipaddress.ip_address(words)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def peer_uid(client_ip: str, client_port: int, server_port: int) -> int | None:
    """The uid owning the client socket ip:port connected to our server_port; None when unknown."""
    wanted = (str(ipaddress.ip_address(client_ip)), client_port)
    for table in TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 8:
                continue
            try:
                local, remote = _address(fields[1]), _address(fields[2])
            except ValueError:
                continue
            if local == wanted and remote[1] == server_port:
                return int(fields[7])
    return None


def foreign_user(environ: dict[str, object]) -> str | None:
    """Why this request is refused, when another local user sent it; None for our own user (or
    when the kernel cannot tell, e.g. a request that did not come over TCP)."""
    try:
        client_ip = str(environ["REMOTE_ADDR"])
        client_port = int(str(environ["REMOTE_PORT"]))
        server_port = int(str(environ["SERVER_PORT"]))
    except (KeyError, ValueError):
        return None
    uid = peer_uid(client_ip, client_port, server_port)
    if uid is None or uid == os.getuid():
        return None
    return f"this sandbox's pages answer only its own user (uid {os.getuid()}), not uid {uid}"
