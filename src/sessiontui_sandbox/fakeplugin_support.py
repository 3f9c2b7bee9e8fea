"""Parts of the stand-in plugin that are protocol, not plumbing: its own signed SSM calls and the
escape sequences newer plugins read in shells. Standard library only (plus sigv4): the stand-in
must start fast.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from typing import Any

ESCAPES_FROM = (1, 2, 835, 0)  # plugins from here on read `~.` / `~?` after a newline in shells
# The contract records that `~?` shows help, not its words: this wording is the stand-in's own, and
# nothing in sessiontui reads it.
ESCAPE_HELP = (
    "\r\nSupported escape sequences:\r\n"
    " ~.  - terminate session\r\n"
    " ~?  - this message\r\n"
    " ~~  - send the escape character by typing it twice\r\n"
)


def version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return ()


class Escapes:
    """`~.` and `~?` right after a newline (or at the start), as newer plugins read them."""

    def __init__(self) -> None:
        self.at_line_start = True
        self.tilde = False

    def feed(self, data: bytes) -> tuple[bytes, str | None]:
        """What to send on to the shell, and the escape command seen: "." (end the session: the
        rest is dropped), "?" (show the help; the rest still goes to the shell), or None."""
        out = bytearray()
        command = None
        for byte in data:
            ch = bytes([byte])
            if self.tilde:
                self.tilde = False
                if ch == b".":
                    return bytes(out), "."
                if ch == b"?":
                    command = "?"
                    continue
                out += b"~" if ch == b"~" else b"~" + ch
            elif self.at_line_start and ch == b"~":
                self.tilde = True
                continue
            else:
                out += ch
            self.at_line_start = ch in (b"\r", b"\n")
        return bytes(out), command


class SsmApi:
    """The plugin's own AWS calls, signed with the credentials in its environment (the caller
    puts the role's there) for the region and endpoint in its argv, as the real plugin's SDK
    does. Failures are quiet: the real plugin logs them to its own log file."""

    def __init__(self, region: str, endpoint: str) -> None:
        self.region = region
        self.endpoint = endpoint

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        from sessiontui_sandbox import sigv4

        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        url = urllib.parse.urlsplit(self.endpoint)
        if not key or not secret or not url.netloc:
            return None  # no credentials: the real plugin would find none either
        body = json.dumps(params).encode()
        headers = sigv4.sign(
            access_key=key,
            secret=secret,
            token=os.environ.get("AWS_SESSION_TOKEN") or None,
            region=self.region,
            service="ssm",
            method="POST",
            host=url.netloc,
            path=url.path or "/",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AmazonSSM.{action}",
            },
            body=body,
        )
        req = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return dict(json.loads(resp.read() or b"{}"))
        except (OSError, ValueError):
            return None
