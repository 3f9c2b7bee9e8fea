"""The command a shell in a new window runs: by name only, never a secret on its command line.

The wrapper (`sh -c ...`) is run for real with a stand-in for python, so quoting, the variables it
sets and clears, and the "press Enter" on failure are what a window would see.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sessiontui.config import parse_config
from sessiontui.core.errors import ConfigError
from sessiontui.core.windows import (
    ENV_KEYS,
    WindowPlan,
    check_no_secrets,
    connect_argv,
    parse_tmux_answer,
    passed_env,
    terminal_argv,
    tmux_argv,
    window_name,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+abc/def=="
OPERATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0001",
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_SESSION_TOKEN": TOKEN,
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "AWS_CONFIG_FILE": "/home/op/.aws/config",
    "SESSIONTUI_CONFIG": "/home/op/.config/sessiontui/config.toml",
    "SESSIONTUI_DEMO_TOTP": "JBSWY3DPEHPK3PXP",
    "XDG_CACHE_HOME": "/home/op/.cache",
    "PATH": "/usr/bin:/bin",
}


def plan(**overrides: object) -> WindowPlan:
    fields: dict[str, object] = dict(
        node_id="i-0123456789abcdef0",
        node_name="prod-web-01",
        region="eu-west-1",
        role="ProdOps",
        reason='TICKET-1: "quoted" & $(not run)',
        profile="ops",
        env=passed_env(OPERATOR_ENV),
        unset=ENV_KEYS,
    )
    fields.update(overrides)
    return WindowPlan(**fields)  # type: ignore[arg-type]


def test_only_names_and_paths_are_passed() -> None:
    env = passed_env(OPERATOR_ENV)
    assert env == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_CONFIG_FILE": "/home/op/.aws/config",
        "SESSIONTUI_CONFIG": "/home/op/.config/sessiontui/config.toml",
        "XDG_CACHE_HOME": "/home/op/.cache",
    }


def test_tmux_command_has_the_access_by_name_and_no_secret() -> None:
    command = connect_argv("/venv/bin/python", plan())
    argv = tmux_argv("/usr/bin/tmux", window_name("prod-web-01"), command, after="@3")
    assert argv[:9] == [
        "/usr/bin/tmux",
        "new-window",
        "-P",
        "-F",
        "#{window_id} #{window_index}",
        "-n",
        "prod-web-01",
        "-a",
        "-t",
    ]
    tail = argv[argv.index("/venv/bin/python") :]
    assert tail == [
        "/venv/bin/python",
        "-m",
        "sessiontui",
        "--connect",
        "i-0123456789abcdef0",
        "--region",
        "eu-west-1",
        "--profile",
        "ops",
        "--role",
        "ProdOps",
        "--reason",
        'TICKET-1: "quoted" & $(not run)',
    ]
    joined = "\0".join(argv)
    for secret in (SECRET, TOKEN, OPERATOR_ENV["SESSIONTUI_DEMO_TOTP"]):
        assert secret not in joined
    check_no_secrets(argv, [SECRET, TOKEN])  # does not raise


def test_terminal_command_is_the_launcher_then_the_same_command() -> None:
    command = connect_argv("/venv/bin/python", plan(role=None, reason=None, profile=None))
    argv = terminal_argv(("kitty", "@", "launch", "--type=tab"), command)
    assert argv[:4] == ["kitty", "@", "launch", "--type=tab"]
    assert argv[4:] == command
    assert "--role" not in argv and "--reason" not in argv and "--profile" not in argv
    check_no_secrets(argv, [SECRET, TOKEN])


def test_a_secret_anywhere_on_the_command_line_is_refused() -> None:
    leaky = plan(env={"AWS_SECRET_ACCESS_KEY": SECRET})
    argv = terminal_argv(("wezterm", "cli", "spawn", "--"), connect_argv("python", leaky))
    with pytest.raises(ValueError, match="holds a secret"):
        check_no_secrets(argv, [None, "", SECRET])


def test_the_wrapper_runs_the_command_as_given(tmp_path: Path) -> None:
    """`env` clears the base keys, sets the named variables, and passes every word intact."""
    show = tmp_path / "show"
    show.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@"\n'
        'printf "KEY=%s TOKEN=%s URL=%s\\n" "${AWS_ACCESS_KEY_ID-unset}" '
        '"${AWS_SESSION_TOKEN-unset}" "$AWS_ENDPOINT_URL"\n'
    )
    show.chmod(0o755)
    done = subprocess.run(
        connect_argv(str(show), plan()),
        env=OPERATOR_ENV,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[:4] == ["-m", "sessiontui", "--connect", "i-0123456789abcdef0"]
    assert 'TICKET-1: "quoted" & $(not run)' in lines
    assert lines[-1] == "KEY=unset TOKEN=unset URL=http://127.0.0.1:4566"


def test_a_failed_connect_keeps_the_window_until_enter(tmp_path: Path) -> None:
    fail = tmp_path / "fail"
    fail.write_text("#!/bin/sh\necho 'sessiontui: no such node' >&2\nexit 2\n")
    fail.chmod(0o755)
    done = subprocess.run(
        connect_argv(str(fail), plan()),
        env=OPERATOR_ENV,
        input="\n",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 2
    assert "sessiontui exited with status 2; press Enter to close this window" in done.stdout


def test_tmux_answer_and_window_names() -> None:
    assert parse_tmux_answer("@12 4\n") == ("@12", "4")
    with pytest.raises(ValueError):
        parse_tmux_answer("no server running on /tmp/tmux-0/default")
    assert window_name("legacy  reporting\tbox") == "legacy reporting box"
    long = window_name("x" * 120)
    assert len(long) == 30 and long.endswith("…")
    assert window_name("") == "shell"


def test_terminal_command_in_the_config(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    assert parse_config("", file).terminal_command == ()
    found = parse_config('terminal_command = "kitty @ launch --type=tab"\n', file)
    assert found.terminal_command == ("kitty", "@", "launch", "--type=tab")
    quoted = parse_config("terminal_command = \"wezterm cli spawn --cwd '/a b' --\"\n", file)
    assert quoted.terminal_command == ("wezterm", "cli", "spawn", "--cwd", "/a b", "--")
    for text, words in (
        ('regions = []\nterminal_command = ""\n', "config.toml:2: terminal_command must not be"),
        (
            "regions = []\nterminal_command = 3\n",
            "config.toml:2: terminal_command must be a string",
        ),
        (
            'regions = []\nterminal_command = "kitty \'open"\n',
            "config.toml:2: terminal_command: No closing quotation",
        ),
        (
            'regions = []\nterminal_command = "xterm -e {}"\n',
            "config.toml:2: terminal_command: the shell's command is appended",
        ),
        ('terminal_comand = "kitty"\n', "did you mean 'terminal_command'?"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_config(text, file)
        assert words in info.value.message, info.value.message
