"""Bad input through the real CLI: exit 2 and a plain message, never a silent default.

- SESSIONTUI_CONFIG naming a file that does not exist (was: silently no config);
- a ~/.aws/config (or credentials file) that neither configparser nor botocore can parse (was:
  "no AWS credentials found", exit 3);
- `--connect ''` (was: the TUI opened);
- the TUI with stdin or stdout not a terminal (was: it started and wrote escape codes).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli_support import cli_env, run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def plain(stderr: str, lines: int = 2) -> list[str]:
    found = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert 1 <= len(found) <= lines, stderr
    assert found[0].startswith("sessiontui: "), stderr
    return found


def test_sessiontui_config_naming_a_missing_file_exits_2(sandbox: Any, home: Path) -> None:
    missing = home / "sessiontui-confg.toml"
    for args in (["--list"], []):  # headless, and the TUI: refused before either starts
        out = run(sandbox, home, *args, extra={"SESSIONTUI_CONFIG": str(missing)})
        assert out.returncode == 2, out.stderr
        first, hint = plain(out.stderr)
        assert first == f"sessiontui: config file not found: {missing}"
        assert "SESSIONTUI_CONFIG names it" in hint and "config.toml" in hint
        assert out.stdout == ""


BROKEN_AWS_CONFIG = [
    # (file text, the line reported, words of the message)
    ("region = us-east-1\n[default]\n", 1, "a setting before any [section] header"),
    ("[default]\nregion = us-east-1\nthis is not a setting\n", 3, "neither `[section]`"),
    ("[default]\nregion = us-east-1\n\n[default]\noutput = json\n", 4, "appears twice"),
    ("[default]\nregion = us-east-1\nregion = eu-west-1\n", 3, "'region' set twice"),
    ("[default]\ns3 =\n  max_concurrent_requests\n", None, "a nested setting without `=`"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    BROKEN_AWS_CONFIG,
    ids=["no-section", "stray-line", "duplicate-section", "duplicate-key", "nested"],
)
def test_broken_aws_config_exits_2_naming_the_line(
    sandbox: Any, home: Path, text: str, line: int | None, words: str
) -> None:
    config = home / ".aws" / "config"  # HOME is `home`: shown as ~/.aws/config
    config.parent.mkdir()
    config.write_text(text, encoding="utf-8")
    out = run(sandbox, home, "--list", extra={"AWS_CONFIG_FILE": str(config)})
    assert out.returncode == 2, out.stderr
    first, hint = plain(out.stderr)
    where = f"~/.aws/config:{line}" if line else "~/.aws/config"
    assert first.startswith(f"sessiontui: {where}: "), first
    assert words in first
    assert "AWS CLI cannot read this file either" in hint
    assert "no AWS credentials" not in out.stderr


def test_botocore_nested_rule_is_the_one_we_check() -> None:
    """The nested case above is botocore's own rule, not one of ours."""
    import botocore.configloader
    import botocore.exceptions

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"sessiontui-nested-{os.getpid()}"
    path.write_text(BROKEN_AWS_CONFIG[-1][0], encoding="utf-8")
    try:
        with pytest.raises(botocore.exceptions.ConfigParseError):
            botocore.configloader.raw_config_parse(str(path))
    finally:
        path.unlink()


@pytest.mark.parametrize("with_role", [False, True], ids=["base", "role"])
def test_broken_credentials_file_exits_2_not_no_credentials(
    sandbox: Any, home: Path, with_role: bool
) -> None:
    """Only botocore reads the credentials file: its ConfigParseError, in plain words."""
    creds = home / ".aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text("aws_access_key_id = AKIA\n[default]\n", encoding="utf-8")
    # empty keys in the environment make botocore look further: in the credentials file
    extra = {
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
    }
    args = ["--list", *(["--role", "StagingDev"] if with_role else [])]
    out = run(sandbox, home, *args, extra=extra)
    assert out.returncode == 2, out.stderr
    first, _hint = plain(out.stderr)
    assert first == "sessiontui: ~/.aws/credentials:1: a setting before any [section] header"
    assert "no AWS credentials" not in out.stderr


@pytest.mark.parametrize("target", ["", "   "], ids=["empty", "blank"])
def test_connect_with_an_empty_target_exits_2(sandbox: Any, home: Path, target: str) -> None:
    out = run(sandbox, home, "--connect", target)
    assert out.returncode == 2, out.stderr
    (first,) = plain(out.stderr, lines=1)
    assert first == "sessiontui: --connect needs a target: an instance id, a Name tag or K=V"
    assert out.stdout == ""


def _tui(sandbox: Any, home: Path, *, stdin: Any, stdout: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessiontui"],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox, home),
        timeout=60,
    )


def test_tui_refuses_pipes_for_stdin_and_stdout(sandbox: Any, home: Path) -> None:
    out = _tui(sandbox, home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert out.returncode == 2, out.stderr
    first, hint = plain(out.stderr)
    assert first == "sessiontui: the TUI needs a terminal, and stdin and stdout are not one"
    assert "--list [--json] or --connect TARGET" in hint
    assert out.stdout == ""  # not one escape code


def test_tui_refuses_a_piped_stdout_even_at_a_terminal(sandbox: Any, home: Path) -> None:
    main, tty = pty.openpty()
    try:
        out = _tui(sandbox, home, stdin=tty, stdout=subprocess.PIPE)
    finally:
        os.close(tty)
        os.close(main)
    assert out.returncode == 2, out.stderr
    assert plain(out.stderr)[0] == "sessiontui: the TUI needs a terminal, and stdout is not one"
    assert out.stdout == ""


def test_tui_refuses_a_stdin_that_is_not_a_terminal(sandbox: Any, home: Path) -> None:
    main, tty = pty.openpty()
    try:
        out = _tui(sandbox, home, stdin=subprocess.DEVNULL, stdout=tty)
        os.set_blocking(main, False)
        try:
            drawn = os.read(main, 65536)
        except BlockingIOError:
            drawn = b""
    finally:
        os.close(tty)
        os.close(main)
    assert out.returncode == 2, out.stderr
    assert plain(out.stderr)[0] == "sessiontui: the TUI needs a terminal, and stdin is not one"
    assert b"\x1b[" not in drawn  # nothing drawn on the terminal it had
