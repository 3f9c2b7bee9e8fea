"""`--ssh-config`'s Host blocks (ssh_proxy.ssh_config_text), read back by the real `ssh -G`, and
the argument checks of `--ssh-proxy` that need no sandbox."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from sessiontui.cli import build_parser, main
from sessiontui.commands.ssh_proxy import ssh_config_text
from sessiontui.core.access import Access, Offer
from sessiontui.core.credentials import Credentials
from sessiontui.core.node import Node


def _node(
    id_: str,
    name: str,
    region: str = "us-east-1",
    ping: str = "Online",
    project: str = "Production",
) -> Node:
    tags = {"Name": name, "project": project} if name else {"project": project}
    return Node(id=id_, region=region, name=name, ping_status=ping, tags=tags)


FLEET = [
    _node("i-0000000000000000a", "web-01"),
    _node("i-0000000000000000b", "jump"),
    _node("i-0000000000000000c", "jump", region="eu-west-1"),
    _node("i-0000000000000000d", "legacy box"),
    _node("i-0000000000000000e", ""),
    _node("mi-0000000000000000f", "café-über-01"),
    _node("i-00000000000000010", "lost-01", ping="ConnectionLost"),
    _node("i-00000000000000011", "stg-01", project="Staging"),
]


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["--ssh-config", *argv])


def _ssh_g(config: str, tmp_path: Path, host: str) -> dict[str, str]:
    path = tmp_path / "config"
    path.write_text(config, encoding="utf-8")
    out = subprocess.run(
        ["ssh", "-F", str(path), "-G", host], capture_output=True, text=True, check=True
    ).stdout
    return {k: v for k, _, v in (line.partition(" ") for line in out.splitlines())}


def test_blocks_aliases_and_what_is_left_out() -> None:
    text = ssh_config_text(FLEET, _args(), [])
    assert "Host web-01 i-0000000000000000a\n  HostName i-0000000000000000a\n" in text
    assert "  ProxyCommand sessiontui --ssh-proxy %h %p --region us-east-1\n" in text
    # a repeated name cannot say which node: both by id, each in its own region
    assert "Host jump" not in text
    assert "# jump (eu-west-1): 2 nodes carry this name\nHost i-0000000000000000c\n" in text
    assert "# 'legacy box' cannot be a Host alias\nHost i-0000000000000000d\n" in text
    assert "\nHost i-0000000000000000e\n" in text  # no Name tag
    assert "Host café-über-01 mi-0000000000000000f\n" in text
    assert (
        "# lost-01 (i-00000000000000010, us-east-1): not connectable: agent ConnectionLost" in text
    )
    assert "Host lost-01" not in text
    assert "Host stg-01 i-00000000000000011" in text  # no role: no scope


def test_role_scope_profile_and_reason_reach_the_proxy_command() -> None:
    offer = Offer(name="Prod Ops", source="iam-role", scope={"project": "Production"})
    access = Access(offer, Credentials("AKIA", "s"), None)
    args = _args("--role", "Prod Ops", "--reason", "100% sure", "--profile", "work")
    text = ssh_config_text(FLEET, args, [access])
    assert (
        "  ProxyCommand sessiontui --ssh-proxy %h %p --region us-east-1 --profile work "
        "--role 'Prod Ops' --reason '100%% sure'\n"
    ) in text
    assert "# stg-01 (i-00000000000000011, us-east-1): role Prod Ops may not open it" in text
    assert "Host stg-01" not in text


@pytest.mark.skipif(shutil.which("ssh") is None, reason="ssh not installed (openssh-client)")
def test_ssh_reads_the_blocks_as_meant(tmp_path: Path) -> None:
    args = _args("--role", "Prod Ops", "--reason", "100% sure")
    text = ssh_config_text(FLEET, args, [])
    web = _ssh_g(text, tmp_path, "web-01")
    assert web["hostname"] == "i-0000000000000000a"
    # as written (ssh expands %h, %p and %% when it runs it)
    assert web["proxycommand"] == (
        "sessiontui --ssh-proxy %h %p --region us-east-1 --role 'Prod Ops' --reason '100%% sure'"
    )
    # a comment word never becomes a Host pattern
    assert _ssh_g(text, tmp_path, "nodes").get("proxycommand") is None
    assert _ssh_g(text, tmp_path, "café-über-01")["hostname"] == "mi-0000000000000000f"


def test_ssh_proxy_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ssh-proxy", "web-01", "0"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "--ssh-proxy PORT must be a port number (1-65535)" in out.err
    with pytest.raises(SystemExit) as stop:
        main(["--ssh-proxy", "web-01"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        main(["--ssh-proxy", "web-01", "22", "--connect", "web-01"])  # one mode at a time
