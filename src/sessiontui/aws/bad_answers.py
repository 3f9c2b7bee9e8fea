"""Answers that are not AWS's: proxy error pages, bodies cut short, garbage. In one plain line.

botocore lets three shapes through that the listing must turn into "this region failed":
- XML that does not parse (a truncated EC2 answer, or a proxy's `<!DOCTYPE html>` page, which
  botocore only recognises as a generic error when it starts with `<html>`) raises
  `botocore.parsers.ResponseParserError`, which is neither a ClientError nor a BotoCoreError;
- JSON that does not parse, on HTTP 200, comes back as a successful call with none of the
  operation's fields (botocore keeps the body as an error message and drops it): `check_page`
  notices the list every real answer carries;
- an HTML page on a 5xx is a ClientError whose code is the HTTP status and whose message is the
  whole page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from botocore.parsers import ResponseParserError

MAX_DETAIL = 160
_HTML = re.compile(rb"<!doctype html|<html[\s>]|<body[\s>]|<head[\s>]", re.IGNORECASE)
_PARSE_WHY = re.compile(r"Unable to parse response \((.*?)\), invalid (\w+) received")


class BadAnswer(Exception):
    """A reply that is not an answer of the AWS operation called."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"{operation}: {detail}")
        self.operation = operation
        self.detail = detail


PARSE_ERRORS: tuple[type[Exception], ...] = (ResponseParserError, BadAnswer)


def looks_like_html(text: str | bytes) -> bool:
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return bool(_HTML.search(raw[:2048]))


def one_line(text: str, limit: int = MAX_DETAIL) -> str:
    """Whitespace (newlines too) collapsed, and cut at `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_page(operation: str, page: Mapping[str, object], key: str) -> None:
    """Raise BadAnswer when a page lacks `key`, the list every real answer carries (maybe [])."""
    if key not in page:
        raise BadAnswer(operation, "unreadable answer (cut short or garbled; not AWS's JSON)")


def parse_failure(operation: str, exc: Exception) -> BadAnswer:
    """A ResponseParserError in plain words, without the body it quotes."""
    if isinstance(exc, BadAnswer):
        return exc
    text = str(exc)
    if looks_like_html(text):
        return BadAnswer(operation, "an HTML page instead of an AWS answer (a proxy in the way?)")
    found = _PARSE_WHY.search(text)
    if found:
        return BadAnswer(
            operation, f"unreadable answer (invalid {found.group(2)}: {found.group(1)})"
        )
    return BadAnswer(
        operation, f"unreadable answer ({one_line(text.splitlines()[0] if text else '')})"
    )


def client_error_text(operation: str, code: str, message: str) -> str:
    """`Operation: Code: message`, one line; an HTML page as the message is named, not quoted."""
    if looks_like_html(message):
        status = f"HTTP {code}" if code.isdigit() else code
        return f"{operation}: {status} with an HTML page instead of an AWS answer (a proxy in the way?)"
    detail = one_line(message)
    return f"{operation}: {code}" + (f": {detail}" if detail else "")
