"""Shell completion: the scripts run in real bash (COMP_WORDS and compgen), zsh (a pty, TAB)
and fish (`complete -C`), with names from a real inventory cache and config, no network."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from sessiontui.cli import build_parser
from sessiontui.commands.completion import flags, script
from sessiontui.core.node import Node
from sessiontui.stores.inventory import InventoryCache
from ui_scenes import load_fleet

BIN = Path(sys.executable).parent
CONFIG = """\
[roles.ProdOps]
arn = "arn:aws:iam::123456789012:role/ProdOps"

[roles.StagingDev]
arn = "arn:aws:iam::123456789012:role/StagingDev"
"""


@pytest.fixture
def env(private_home: Path, tmp_path: Path) -> dict[str, str]:
    """An operator with two roles and the demo fleet in the inventory cache (as a --list or
    the TUI leaves it), and nothing that reaches AWS."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    InventoryCache("default", None, ["us-east-1", "eu-west-1"]).save(load_fleet())
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(private_home),
        **{k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")},
        "SESSIONTUI_CONFIG": str(config),
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: a network call would fail
    }


BASH_DRIVER = """
eval "$(sessiontui --completion bash)"
complete -p sessiontui >/dev/null || exit 3
t() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    _sessiontui
    printf '%s|' "${COMPREPLY[@]}"; echo
}
"""


def _bash(env: dict[str, str], *lines: str) -> list[list[str]]:
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER + "\n".join(lines)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [[w for w in line.split("|") if w] for line in out.stdout.splitlines()]


def test_bash_completes_flags_roles_nodes_and_choices(env: dict[str, str]) -> None:
    flags_, roles, roles_eq, nodes, spaced, choices, free = _bash(
        env,
        "t sessiontui --cre",
        "t sessiontui --role ''",
        "t sessiontui --credentials = Pr",
        "t sessiontui --connect onprem-r",
        "t sessiontui --connect legacy",
        "t sessiontui --completion ''",
        "t sessiontui --duration ''",
    )
    assert flags_ == ["--credentials"]
    assert roles == ["ProdOps", "StagingDev"]
    assert roles_eq == ["ProdOps"]
    assert nodes == ["onprem-router-01", "onprem-router-02"]
    assert spaced == ["legacy\\ reporting\\ box"]  # quoted for the command line
    assert choices == ["bash", "zsh", "fish"]
    assert free == []  # a free value (a duration) gets no guesses
    # ids complete too, for the nodes without a Name tag
    (ids,) = _bash(env, "t sessiontui --connect mi-0")
    assert ids and all(i.startswith("mi-0") for i in ids)


def test_a_new_flag_is_completed_without_editing_the_script(env: dict[str, str]) -> None:
    parser = build_parser()
    parser.add_argument("--brand-new-thing", choices=["alpha", "beta"], help="new")
    generated = script("bash", parser)
    assert "--brand-new-thing" in generated
    listed = {name for f in flags(parser) for name in f.names}
    assert listed >= {"--brand-new-thing", "--credentials", "--completion", "--role"}
    assert "--complete-names" not in listed  # hidden: the scripts' helper, not the operator's
    assert all(f.help != argparse.SUPPRESS for f in flags(parser))


def test_the_names_helper_is_fast_and_never_imports_boto3_or_textual(env: dict[str, str]) -> None:
    probe = (
        "import sys, time; t = time.perf_counter()\n"
        "from sessiontui.cli import main\n"
        "rc = main(['--complete-names', 'nodes'])\n"
        "heavy = [m for m in ('boto3', 'botocore', 'textual', 'moto') if m in sys.modules]\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert "HEAVY [] 0" in out.stderr, out.stderr
    names = out.stdout.splitlines()
    assert "onprem-fra-router-01" in names and "legacy reporting box" in names
    assert len(names) == len(set(names))
    started = time.perf_counter()
    timed = subprocess.run(
        [str(BIN / "sessiontui"), "--complete-names", "roles"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    took = time.perf_counter() - started
    assert timed.stdout.split() == ["ProdOps", "StagingDev"]
    assert took < 3.0, took  # ~0.1-0.2 s on an idle machine: a process start and two small files
    # a broken config or an unknown kind costs the completions, never an error at TAB time
    Path(env["SESSIONTUI_CONFIG"]).write_text("roles = [", encoding="utf-8")
    for kind in ("roles", "nosuchkind"):
        bad = subprocess.run(
            [str(BIN / "sessiontui"), "--complete-names", kind],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert (bad.returncode, bad.stdout, bad.stderr) == (0, "", "")


def test_zsh_completes_on_tab_in_a_real_shell(env: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (apt-get install zsh; .ci/run does)")
    generated = tmp_path / "_sessiontui"
    generated.write_text(
        subprocess.run(
            [str(BIN / "sessiontui"), "--completion", "zsh"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout,
        encoding="utf-8",
    )
    shell = pexpect.spawn(
        "zsh", ["-f", "-i"], env=env, encoding="utf-8", timeout=20, dimensions=(40, 200)
    )
    try:
        shell.sendline(
            f"PS1='%% '; autoload -U compinit; compinit -u; source {generated}; echo R\\EADY"
        )
        shell.expect("READY")

        def tab(line: str, expected: str) -> None:
            shell.send(line + "\t")
            shell.expect(expected)
            shell.send("\x03")  # drop the line
            shell.expect("% ")

        tab("sessiontui --credent", "--credentials")
        tab("sessiontui --role ", "ProdOps +StagingDev")
        tab("sessiontui --connect onprem-fr", "onprem-fra-router-01")
        tab("sessiontui --completion ", "bash +fish +zsh")
    finally:
        shell.sendline("exit")
        shell.close(force=True)


def test_fish_completes_flags_roles_and_nodes(env: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (apt-get install fish; .ci/run does)")
    env = {**env, "XDG_DATA_HOME": str(tmp_path / "fish-data")}
    driver = (
        "sessiontui --completion fish | source\n"
        "for line in 'sessiontui --credent' 'sessiontui --role ' "
        "'sessiontui --connect onprem-r' 'sessiontui --completion '\n"
        "    complete -C $line | string replace -r '\\t.*' '' | string join ','\n"
        "end\n"
    )
    out = subprocess.run(
        ["fish", "--no-config", "-c", driver], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "--credentials",
        "ProdOps,StagingDev",
        "onprem-router-01,onprem-router-02",
        "bash,fish,zsh",
    ]


# -- names from AWS are text: no TAB runs them (issue 29) ----------------------------------------

PWN = "zz-db-$(touch${IFS}pwned)"  # a Name tag anyone allowed to tag an instance can set
CONTROL = "zz-dx\x1b]0;pwned\x07"  # cannot be one line of a candidate list: left out


@pytest.fixture
def hostile_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The demo fleet plus two hostile names in the inventory cache, as `--list` leaves them."""
    hostile = [
        Node(id="i-0feedfacefeedface", region="us-east-1", name=PWN, tags={"Name": PWN}),
        Node(id="i-0deadbeefdeadbeef", region="us-east-1", name=CONTROL, tags={"Name": CONTROL}),
    ]
    InventoryCache("default", None, ["us-east-1", "eu-west-1"]).save([*load_fleet(), *hostile])
    (tmp_path / "cwd").mkdir()
    return env


def test_bash_offers_a_hostile_name_quoted_and_runs_nothing(
    hostile_env: dict[str, str], tmp_path: Path
) -> None:
    cwd = tmp_path / "cwd"
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER + "t sessiontui --connect zz-d"],
        capture_output=True,
        text=True,
        env=hostile_env,
        timeout=60,
        cwd=cwd,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("|")[:-1] == ["zz-db-\\$\\(touch\\$\\{IFS\\}pwned\\)"]
    assert list(cwd.iterdir()) == []  # $(touch pwned) never ran
    # what bash would insert reads back, in a shell, as the name itself
    word = out.stdout.split("|")[0]
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True)
    assert echoed.stdout == PWN and list(cwd.iterdir()) == []


def test_zsh_inserts_a_hostile_name_quoted_and_runs_nothing(
    hostile_env: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (apt-get install zsh; .ci/run does)")
    cwd = tmp_path / "cwd"
    generated = tmp_path / "_sessiontui"
    generated.write_text(script("zsh", build_parser()), encoding="utf-8")
    shell = pexpect.spawn(
        "zsh",
        ["-f", "-i"],
        env=hostile_env,
        cwd=str(cwd),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    try:
        shell.sendline(
            f"PS1='%% '; autoload -U compinit; compinit -u; source {generated}; echo R\\EADY"
        )
        shell.expect("READY")
        shell.send("sessiontui --connect zz-d\t")
        shell.expect(r"zz-db-\\\$\\\(touch\\\$\\\{IFS\\\}pwned\\\)")
        shell.send("\x03")
        shell.expect("% ")
        assert list(cwd.iterdir()) == []
    finally:
        shell.sendline("exit")
        shell.close(force=True)


def test_fish_offers_a_hostile_name_as_text_and_runs_nothing(
    hostile_env: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (apt-get install fish; .ci/run does)")
    cwd = tmp_path / "cwd"
    env = {**hostile_env, "XDG_DATA_HOME": str(tmp_path / "fish-data")}
    driver = (
        "sessiontui --completion fish | source\n"
        "complete -C 'sessiontui --connect zz-d' | string replace -r '\\t.*' ''\n"
    )
    out = subprocess.run(
        ["fish", "--no-config", "-c", driver],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=cwd,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [PWN]  # the name as it reads; fish quotes it on insert
    assert list(cwd.iterdir()) == []


def test_the_names_helper_leaves_out_names_with_controls(hostile_env: dict[str, str]) -> None:
    out = subprocess.run(
        [str(BIN / "sessiontui"), "--complete-names", "nodes"],
        capture_output=True,
        text=True,
        env=hostile_env,
        timeout=60,
    )
    names = out.stdout.splitlines()
    assert PWN in names and "i-0deadbeefdeadbeef" in names  # its node completes by id
    assert not any("\x1b" in n or "pwned\x07" in n for n in names)
