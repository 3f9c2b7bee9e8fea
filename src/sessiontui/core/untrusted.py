"""Data from AWS is text: never code, markup or control. One function per place it goes.

Whoever may tag or launch an instance, or register a hybrid node, in an account the operator lists
chooses the bytes of its Name and tags (and the agent reports fields of its own). Those bytes reach
a terminal, tmux, a shell, a completion script, an ssh_config and JSON; each sink below quotes,
escapes or refuses them by that sink's own rules (docs/security.md has the list). Textual markup is
the one sink kept in ui/ (`ui/plain.py`), since its type is Textual's; it builds on `terminal_text`.

Pure: no I/O, nothing imported but the standard library.
"""

from __future__ import annotations

import json
import re
import shlex

# What a terminal would obey or reorder: C0 and C1 controls and DEL (escape sequences start with
# ESC or CSI, OSC ends with BEL), the bidi embeddings, overrides, isolates and marks (they reorder
# the text after them, so a name can look like another), the line and paragraph separators (a new
# row), and lone surrogates (no terminal encoding can write them).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
ELLIPSIS = "…"


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_text(value: str, limit: int | None = None) -> str:
    """One line a terminal shows as it reads: every control as a visible escape (`\\x1b`, `\\n`,
    `\\u202e`), cut to `limit` characters with an ellipsis when given."""
    if not value.isprintable():  # the common case, printable text, costs one C loop
        value = _UNSAFE.sub(_visible, value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + ELLIPSIS
    return value


def terminal_lines(value: str, limit: int | None = None) -> list[str]:
    """Many lines a terminal shows as they read (a command's output): split at newlines, tabs
    as spaces, every other control visible as in `terminal_text`, each line cut to `limit`."""
    return [terminal_text(line.expandtabs(8), limit) for line in value.splitlines()]


def has_controls(value: str) -> bool:
    """Whether `terminal_text` would change the value (a control, bidi mark or separator)."""
    return not value.isprintable() and _UNSAFE.search(value) is not None


# -- tmux ----------------------------------------------------------------------------------------


def tmux_text(value: str, limit: int | None = None) -> str:
    """A value tmux reads as a format (`new-window -n`, titles, messages): `#(cmd)` there would run
    cmd and `#{...}`/`#[...]` expand, so every `#` is doubled (tmux shows `##` as one `#`). The
    limit counts what tmux shows."""
    return terminal_text(value, limit).replace("#", "##")


# -- shell -----------------------------------------------------------------------------------------


def shell_word(value: str) -> str:
    """One word for sh, bash, zsh or dash: quoted so nothing in it is expanded or split."""
    return shlex.quote(value)


# -- completion ------------------------------------------------------------------------------------


def completion_candidate(value: str) -> str | None:
    """A name a shell may offer at TAB, or None: the completion helpers read one name a line and
    fish reads a tab as the start of a description, so a name with a control in it cannot be a
    candidate (its node completes by id). What is offered is inserted quoted by each shell's script
    and never passed through word expansion (see completion.py)."""
    if not value or has_controls(value):
        return None
    return value


# -- ssh_config ------------------------------------------------------------------------------------

# ssh_config has no quoting inside comments and none that stops `Match exec` on a line of its own,
# so what goes into a comment is cut down to characters that cannot end the line or start a
# token; the rest becomes "?" (a Host alias is refused outright instead: see ssh_host_alias)
_SSH_COMMENT_UNSAFE = re.compile(r"[^\w .,:;/@+=()\[\]'\"!?*-]")
# Host patterns: letters (any script), digits, ".", "_", "-"; no whitespace, pattern characters
# (*?!,), %-tokens or quotes, and no leading "-" (it would read as an ssh option)
_SSH_ALIAS = re.compile(r"\w[\w.-]*")


def ssh_comment(value: str, limit: int = 200) -> str:
    """Text for a `# ...` line of an ssh_config: one line, safe characters only."""
    out = _SSH_COMMENT_UNSAFE.sub("?", value)
    return out if len(out) <= limit else out[: limit - 1] + "?"


def ssh_host_alias(value: str) -> str | None:
    """The value as a Host pattern when every character is safe there; None otherwise."""
    # \w also matches letters of other scripts (ssh compares them byte for byte: fine), never
    # the controls and separators isprintable rules out
    return value if _SSH_ALIAS.fullmatch(value) and value.isprintable() else None


# -- JSON ------------------------------------------------------------------------------------------

# json escapes C0 controls itself; these it leaves raw under ensure_ascii=False, and a terminal
# that shows the JSON would still obey or reorder them (a lone surrogate could not even be
# written as UTF-8). Outside strings JSON is pure ASCII, so
# a character of this set can only sit inside a string, where \\uXXXX means the same character.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(value: object, *, indent: int | None = None) -> str:
    """JSON readable as UTF-8 with every control, bidi mark and separator as a \\u escape."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
