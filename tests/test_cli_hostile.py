"""Hostile names and tags planted in the sandbox as an attacker would (SSM AddTagsToResource on
hybrid nodes, EC2 RunInstances and CreateTags), then read through the real CLI: `--list`,
`--list --json`, `--connect` candidates and `--ssh-config` read back by the real `ssh -G`.
Nothing runs, nothing reaches the terminal raw, every node stays one row."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_support import run
from sandbox_support import client
from sessiontui_sandbox import Sandbox

EVERY = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))) + (
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
CLEAR = "hostile-clear\x1b[2J\x1b[H"
TITLE = "hostile-title\x1b]0;pwned\x07"
LINK = "hostile-link\x1b]8;;file:///etc/passwd\x07x\x1b]8;;\x07"
CLIPBOARD = "\x1b]52;c;aWQK\x07"
SPOOF = "a\nspoofed-row  i-0123456789abcdef0  Online"
BIDI = "hostile-\u202eevil"
LONG = "L" * 256  # AWS's longest tag value
# an agentless EC2 instance whose Name writes ssh_config directives (issue 29, finding 3)
SSH_NAME = 'noagent\nMatch exec "touch {pwned}"\n  ProxyCommand sh -c "touch {pwned}"\n#'


def _hybrids(sb: Sandbox) -> list[str]:
    ssm = client(sb, "ssm")
    pages = ssm.get_paginator("describe_instance_information").paginate(
        Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}]
    )
    return [i["InstanceId"] for p in pages for i in p["InstanceInformationList"]]


@pytest.fixture(scope="module")
def planted(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Four hybrid nodes renamed and retagged, one agentless instance; this module's sandbox."""
    pwned = tmp_path_factory.mktemp("pwned") / "pwned"
    admin = sandbox.role_credentials("FleetAdmin")  # tags are an administrator's to set
    ssm = client(sandbox, "ssm", creds=admin)
    ids = _hybrids(sandbox)[:4]
    names = [CLEAR, TITLE, LINK, BIDI]
    for node, name in zip(ids, names, strict=True):
        tags = {"Name": name, "project": EVERY, "Role": CLIPBOARD, "note": SPOOF, "long": LONG}
        ssm.add_tags_to_resource(
            ResourceType="ManagedInstance",
            ResourceId=node,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    ec2 = client(sandbox, "ec2", creds=admin)
    images = ec2.describe_images()["Images"]
    started = ec2.run_instances(
        ImageId=images[0]["ImageId"] if images else "ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
    )
    agentless = started["Instances"][0]["InstanceId"]
    ec2.create_tags(
        Resources=[agentless],
        Tags=[{"Key": "Name", "Value": SSH_NAME.format(pwned=pwned)}],
    )
    yield {"ids": dict(zip(names, ids, strict=True)), "agentless": agentless, "pwned": pwned}


def _raw_controls(text: str) -> set[str]:
    """Controls other than the newlines that end our own lines."""
    return {ch for ch in text if ch in EVERY and ch != "\n"}


def test_list_shows_every_node_on_one_row_with_its_controls_visible(
    sandbox: Sandbox, planted: dict[str, Any], tmp_path: Path
) -> None:
    out = run(sandbox, tmp_path, "--list")
    assert out.returncode == 0, out.stderr
    assert _raw_controls(out.stdout) == set() and _raw_controls(out.stderr) == set()
    listed = json.loads(run(sandbox, tmp_path, "--list", "--json").stdout)
    assert len(out.stdout.splitlines()) == len(listed) + 1  # the header, then one row a node
    rows = {row.split()[1]: row for row in out.stdout.splitlines()[1:] if len(row.split()) > 1}
    clear = rows[planted["ids"][CLEAR]]
    assert clear.startswith("hostile-clear\\x1b[2J\\x1b[H")
    assert "\\x1b]52;c;aWQK\\x07" in clear  # the Role column: shown, not sent
    assert rows[planted["ids"][BIDI]].startswith("hostile-\\u202eevil")
    # the project column (every control) is cut to 64 characters, an ellipsis at its end
    assert "\\x00\\x01\\x02" in clear and "…" in clear
    assert "spoofed-row" not in out.stdout  # only --list's columns; the note tag is not one


def test_list_json_escapes_c1_bidi_and_separators_and_keeps_the_data(
    sandbox: Sandbox, planted: dict[str, Any], tmp_path: Path
) -> None:
    out = run(sandbox, tmp_path, "--list", "--json")
    assert out.returncode == 0, out.stderr
    assert _raw_controls(out.stdout) == set()
    assert "\\u0085" in out.stdout and "\\u202e" in out.stdout and "\\u2028" in out.stdout
    nodes = {n["id"]: n for n in json.loads(out.stdout)}
    node = nodes[planted["ids"][LINK]]
    assert node["name"] == LINK  # escaped in spelling only: a script reads the real value
    assert node["tags"]["project"] == EVERY and node["tags"]["note"] == SPOOF
    assert node["tags"]["long"] == LONG


def test_connect_candidates_are_one_printable_line_each(
    sandbox: Sandbox, planted: dict[str, Any], tmp_path: Path
) -> None:
    out = run(sandbox, tmp_path, "--connect", "hostile")
    assert out.returncode == 2, out.stderr
    assert _raw_controls(out.stderr) == set() and out.stdout == ""
    lines = out.stderr.splitlines()
    assert lines[0] == "sessiontui: no node is exactly 'hostile'; did you mean one of these?"
    candidates = lines[1:]
    assert sorted(c.split()[0] for c in candidates) == sorted(planted["ids"].values())
    for line in candidates:  # each node one line: the note tag's newline did not split it
        assert "\\n" in line and "spoofed-row" in line and "\\x1b" in line
        assert len(line) < 1200  # values cut at 64: ten tags cannot fill a screen
    # a name holding every control, looked up exactly, is not found and not echoed raw
    bad = run(sandbox, tmp_path, "--connect", "x\x1b]0;t\x07\u202ey")
    assert bad.returncode == 2 and _raw_controls(bad.stderr) == set()


def test_ssh_config_carries_no_planted_directive(
    sandbox: Sandbox, planted: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH's client is not installed")
    out = run(sandbox, tmp_path, "--ssh-config")
    assert out.returncode == 0, out.stderr
    config = tmp_path / "cfg"
    config.write_text(out.stdout, encoding="utf-8")
    for line in out.stdout.splitlines():
        assert line == "" or line.startswith(("#", "Host ", "  HostName ", "  ProxyCommand "))
        assert "Match" not in line or line.startswith("#")
    assert "# noagent?Match exec" in out.stdout and planted["agentless"] in out.stdout
    for host in ("somehost", "github.com", planted["ids"][CLEAR]):
        shown = subprocess.run(
            ["ssh", "-G", "-F", str(config), host], capture_output=True, text=True, timeout=30
        )
        assert shown.returncode == 0, shown.stderr
        assert "sh -c" not in shown.stdout and "touch" not in shown.stdout
    # the planted node's own block, when it has one, proxies through sessiontui only
    assert "proxycommand sessiontui --ssh-proxy" in shown.stdout
    assert not planted["pwned"].exists()  # `Match exec` never ran
