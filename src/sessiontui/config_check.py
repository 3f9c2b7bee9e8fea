"""Reading config.toml by hand-written rules: where each key stands (for `config.toml:LINE:`
messages) and the checks every section's reader uses. `config` reads the sections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from sessiontui.core.durations import parse_duration
from sessiontui.core.errors import ConfigError, UsageError

# keys that can only mean someone is about to store a secret in a plain file
SECRET_KEYS = frozenset(
    {
        "totp_secret",
        "totp_seed",
        "mfa_secret",
        "secret",
        "seed",
        "otp_secret",
        "mfa_code",
        "totp_code",
        "code",
        "aws_secret_access_key",
        "secret_access_key",
        "session_token",
        "aws_session_token",
        "password",
    }
)


# -- where things are in the source text -------------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = rf'(?:{_BARE}|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_INLINE_KEY = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY_PART, dotted)
    out = []
    for p in parts:
        if p[:1] in "\"'":
            p = p[1:-1]
        out.append(p)
    return tuple(out)


KeyPath = tuple[str | int, ...]


class LineIndex:
    """Maps key paths like ("roles", "ProdOps", "arn") or ("forwards", 1, "remote_port") to lines.

    A line-oriented scan, good for the files people write by hand: headers, `key = value`, dotted
    keys, one-line inline tables. Anything it cannot place falls back to the nearest enclosing
    key it did find.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[KeyPath, int] = {}
        arrays: dict[tuple[str, ...], int] = {}
        table: KeyPath = ()
        in_multiline: str | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header:
                keys = _split_key(header.group(2))
                if header.group(1) == "[[":
                    index = arrays.get(keys, -1) + 1
                    arrays[keys] = index
                    table = (*keys, index)
                else:
                    table = self._resolve_arrays(keys, arrays)
                self.lines.setdefault(table, number)
                continue
            assign = _ASSIGN.match(line)
            if not assign:
                continue
            path = (*table, *_split_key(assign.group(1)))
            self.lines.setdefault(path, number)
            rest = line[assign.end() :]
            if rest.lstrip().startswith("{"):
                for inner in _INLINE_KEY.finditer(rest):
                    self.lines.setdefault((*path, *_split_key(inner.group(1))), number)
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote

    @staticmethod
    def _resolve_arrays(keys: tuple[str, ...], arrays: dict[tuple[str, ...], int]) -> KeyPath:
        # [forwards.extra] after [[forwards]] belongs to the latest element
        out: list[str | int] = []
        for i, k in enumerate(keys):
            out.append(k)
            if keys[: i + 1] in arrays and i + 1 < len(keys):
                out.append(arrays[keys[: i + 1]])
        return tuple(out)

    def line_of(self, path: KeyPath) -> int:
        for n in range(len(path), 0, -1):
            found = self.lines.get(path[:n])
            if found is not None:
                return found
        return 1


class Checker:
    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.index = LineIndex(text)

    def fail(self, path: KeyPath, what: str) -> ConfigError:
        return ConfigError(
            f"{self.file.name}:{self.index.line_of(path)}: {what}", f"in {self.file}"
        )

    @staticmethod
    def name(path: KeyPath) -> str:
        """A key path as it reads in TOML: roles.ProdOps.duration, forwards[2].name."""
        out = ""
        for p in path:
            if isinstance(p, int):
                out += f"[{p + 1}]"
            else:
                text = p if re.fullmatch(_BARE, p) else f'"{p}"'
                out += f".{text}" if out else text
        return out

    def keys(self, table: Mapping[str, object], path: KeyPath, allowed: tuple[str, ...]) -> None:
        for key in table:
            where = (*path, key)
            if key.lower() in SECRET_KEYS and path[:1] == ("databases",):
                raise self.fail(
                    where,
                    f"{self.name(where)}: a database's password never goes in the config file; "
                    "name its Secrets Manager secret (ARN or name) with secret_id",
                )
            if key.lower() in SECRET_KEYS:
                raise self.fail(
                    where,
                    f"{self.name(where)}: secrets never go in the config file; put the TOTP "
                    "secret in an environment variable and name it with [mfa] totp_secret_env "
                    "(or use totp_command)",
                )
            if key not in allowed:
                import difflib  # for a mistake only: loading a good config skips it

                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(allowed)})"
                )
                raise self.fail(where, f"unknown key {self.name(where)!r}{hint}")

    def table(self, value: object, path: KeyPath) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{self.name(path)} must be a table")
        return value

    def string(self, value: object, path: KeyPath, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"{self.name(path)} must be a string")
        if not empty and not value.strip():
            raise self.fail(path, f"{self.name(path)} must not be empty")
        return value

    def optional_string(self, value: object, path: KeyPath) -> str | None:
        """A key that may be left out: None when it is, else a string (not empty)."""
        return None if value is None else self.string(value, path)

    def boolean(self, value: object, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"{self.name(path)} must be true or false")
        return value

    def port(self, value: object, path: KeyPath, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
            raise self.fail(path, f"{self.name(path)} must be a port number, {low}-65535")
        return value

    def duration(self, value: object, path: KeyPath) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail(path, f'{self.name(path)} must be a duration like "2h" or 3600')
        try:
            return parse_duration(value)
        except UsageError as exc:
            raise self.fail(path, f"{self.name(path)}: {exc.message}") from None
