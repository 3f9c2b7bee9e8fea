"""core.untrusted, the one function per sink for text from AWS, over every C0 and C1 control,
DEL, the bidi marks, overrides and isolates, the line separators and very long values."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from sessiontui.core.untrusted import (
    completion_candidate,
    has_controls,
    json_text,
    shell_word,
    ssh_comment,
    ssh_host_alias,
    terminal_text,
    tmux_text,
)

CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
BIDI = [
    "\u061c",
    "\u200e",
    "\u200f",
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
]
SEPARATORS = ["\u2028", "\u2029"]
EVERY = CONTROLS + BIDI + SEPARATORS
HOSTILE = [
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]0;pwned\x07",  # OSC 0: the window title
    "\x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",  # OSC 8: a live link
    "\x1b]52;c;aWQK\x07",  # OSC 52: the clipboard
    "a\nspoofed-row  i-0123456789abcdef0  Online",
    "\u202eevil\u202c",
    "\x9b31m",  # CSI as one C1 byte
]


@pytest.mark.parametrize("ch", EVERY, ids=lambda c: f"U+{ord(c):04X}")
def test_terminal_text_shows_every_control_visibly(ch: str) -> None:
    shown = terminal_text(f"a{ch}b")
    assert ch not in shown and shown.isprintable() and shown.startswith("a") and shown.endswith("b")
    assert has_controls(f"a{ch}b")
    # the escape names the character: \xNN up to U+00FF, \uNNNN above, \n \t \r by name
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
    code = ord(ch)
    assert shown[1:-1] == named.get(ch, f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


@pytest.mark.parametrize("value", HOSTILE)
def test_terminal_text_keeps_hostile_values_on_one_printable_line(value: str) -> None:
    shown = terminal_text(value)
    assert shown.isprintable() and "\x1b" not in shown and "\n" not in shown
    assert "\\x1b" in shown or "\\n" in shown or "\\u202e" in shown or "\\x9b" in shown


def test_ordinary_names_are_unchanged_and_long_values_are_cut() -> None:
    for name in ("prod-web-01", "legacy reporting box", "café-über-01", "名前-01", "[db] #1"):
        assert terminal_text(name) == name and not has_controls(name)
    long = "x" * 5000
    assert terminal_text(long) == long  # no limit asked: all of it
    assert terminal_text(long, 64) == "x" * 63 + "…"
    assert len(terminal_text("\x1b" * 300, 64)) == 64


def test_tmux_text_doubles_every_hash_so_no_format_expands() -> None:
    assert tmux_text("#(id>pwned)") == "##(id>pwned)"
    assert tmux_text("#{pane_pid} #[fg=red]") == "##{pane_pid} ##[fg=red]"
    assert tmux_text("a\x1b]0;x\x07") == "a\\x1b]0;x\\x07"
    assert tmux_text("#" * 40, 10) == "#" * 18 + "…"  # the limit counts what tmux shows


def test_shell_word_survives_a_real_shell() -> None:
    for value in ["dev-db-$(touch${IFS}pwned)", "`id`", "a b", "'\"", "-n", "x\ny", *HOSTILE]:
        out = subprocess.run(
            ["sh", "-c", f"printf %s {shell_word(value)}"], capture_output=True, text=True
        )
        assert out.stdout == value
        assert shlex.split(shell_word(value)) == [value]


def test_completion_candidates_refuse_names_with_controls() -> None:
    assert completion_candidate("dev-db-$(touch${IFS}pwned)") == "dev-db-$(touch${IFS}pwned)"
    assert completion_candidate("legacy reporting box") == "legacy reporting box"
    for ch in EVERY:
        assert completion_candidate(f"a{ch}b") is None
    assert completion_candidate("") is None


def test_ssh_comments_and_aliases_cannot_end_a_line() -> None:
    name = 'noagent\nMatch exec "touch pwned"\n  ProxyCommand sh -c "touch pwned"\n#'
    comment = ssh_comment(name)
    assert "\n" not in comment and "\r" not in comment and comment.isprintable()
    assert comment.startswith("noagent?Match exec")
    for ch in EVERY:
        assert ch not in ssh_comment(f"a{ch}b")
    assert len(ssh_comment("y" * 1000)) == 200
    assert ssh_host_alias("prod-web-01") == "prod-web-01"
    assert ssh_host_alias("café-über-01") == "café-über-01"
    for bad in (name, "a b", "-oProxyCommand=x", "a*", "a,b", "%h", "a\u2028b", "", '"x"'):
        assert ssh_host_alias(bad) is None, bad


def test_json_text_escapes_c1_bidi_and_separators_and_reads_back_the_same() -> None:
    value = {"name": "".join(EVERY) + "\ud800", "tags": {"k": "\u202eevil"}}
    text = json_text(value)
    for ch in EVERY:
        assert ch not in text
    assert json.loads(json_text(value, indent=2)) == value  # indented: its own newlines only
    assert "\\u0085" in text and "\\u202e" in text and "\\u2028" in text
    assert json.loads(text) == value  # the data is kept; only its spelling changes
    assert json_text({"name": "café"}) == '{"name": "café"}'  # UTF-8, not \\u escapes
