"""Bad answers during listing, through the real CLI and the real TUI: proxies' HTML 502 pages,
answers cut short (JSON and XML), connections reset, regions AWS does not have.

Each failed region gets one plain warning line; the other regions list in full; no listing
thread dies with a traceback (`Exception in thread ec2-<region>` was what a truncated EC2
answer printed). The sandbox's `garble` fault makes the answers real: a 502 page from a
"proxy", the real answer cut in half, a TCP RST.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_support import run

FLEET_REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def faults(sandbox: Any) -> Iterator[Any]:
    yield sandbox
    sandbox.clear_faults()


def control(sandbox: Any, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{sandbox.endpoint_url}/_sandbox/control",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **sandbox.control_headers()},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def regions_args(*regions: str) -> list[str]:
    return [arg for r in regions for arg in ("--region", r)]


def listed(sandbox: Any, home: Path, *regions: str) -> list[dict[str, Any]]:
    out = run(sandbox, home, "--list", "--json", *regions_args(*regions))
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    nodes: list[dict[str, Any]] = json.loads(out.stdout)
    return nodes


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Exception in thread" not in stderr, stderr


def warnings_by_region(stderr: str) -> dict[str, str]:
    """stderr as one `sessiontui: warning: REGION: ...` line per failed region, nothing else."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    found: dict[str, str] = {}
    for line in lines:
        assert line.startswith("sessiontui: warning: "), stderr
        region, _, text = line[len("sessiontui: warning: ") :].partition(": ")
        assert region not in found, stderr
        found[region] = text
    return found


def test_control_takes_garble_and_refuses_what_it_cannot_do(faults: Any) -> None:
    status, body = control(faults, {"garble": {"eu-west-1": "html502", "us-east-1/ec2": "reset"}})
    assert status == 200 and body["garble"] == {"eu-west-1": "html502", "us-east-1/ec2": "reset"}
    assert faults.garble == {"eu-west-1": "html502", "us-east-1/ec2": "reset"}
    assert control(faults, {"garble": {"eu-west-1": "slow"}})[0] == 400
    assert control(faults, {"garble": {"eu-west-1/sts": "reset"}})[0] == 400
    assert control(faults, {"garble": "eu-west-1"})[0] == 400
    faults.clear_faults()
    assert faults.garble == {}


def test_html_truncated_and_reset_regions_each_fail_in_one_line_and_the_rest_list(
    faults: Any, home: Path
) -> None:
    reference = listed(faults, home, *FLEET_REGIONS)
    regions = [*FLEET_REGIONS, "us-west-2", "ap-southeast-2", "ap-northeast-1"]
    status, _ = control(
        faults,
        {
            "garble": {
                "eu-west-1/ec2": "truncated",  # SSM answers: its nodes list, without EC2 names
                "us-west-2": "html502",
                "ap-southeast-2": "reset",
                "ap-northeast-1": "truncated",  # SSM's JSON cut short
            }
        },
    )
    assert status == 200
    out = run(faults, home, "--list", "--json", *regions_args(*regions))
    no_traceback(out.stderr)
    assert out.returncode == 0, out.stderr
    warned = warnings_by_region(out.stderr)
    assert set(warned) == {"eu-west-1", "us-west-2", "ap-southeast-2", "ap-northeast-1"}
    assert warned["eu-west-1"].startswith(
        "names and states missing: DescribeInstances: unreadable answer (invalid XML"
    )
    assert warned["us-west-2"] == (
        "DescribeInstanceProperties: HTTP 502 with an HTML page instead of an AWS answer "
        "(a proxy in the way?)"
    )
    assert "closed before we received a valid response" in warned["ap-southeast-2"]
    assert warned["ap-northeast-1"].startswith("DescribeInstanceProperties: unreadable answer")
    assert all("<" not in text and len(text) < 200 for text in warned.values())

    nodes = json.loads(out.stdout)
    east = sorted(n["id"] for n in reference if n["region"] == "us-east-1")
    assert sorted(n["id"] for n in nodes if n["region"] == "us-east-1") == east
    # eu-west-1 lists its managed nodes from SSM; EC2's names are what the garbage cost
    west_managed = sorted(
        n["id"] for n in reference if n["region"] == "eu-west-1" and n["ping_status"]
    )
    assert sorted(n["id"] for n in nodes if n["region"] == "eu-west-1") == west_managed
    assert {n["region"] for n in nodes} == set(FLEET_REGIONS)


def test_a_region_aws_does_not_have_fails_alone(faults: Any, home: Path) -> None:
    out = run(faults, home, "--list", "--json", *regions_args("us-east-1", "us-moon-1"))
    no_traceback(out.stderr)
    assert out.returncode == 0, out.stderr
    warned = warnings_by_region(out.stderr)
    assert list(warned) == ["us-moon-1"]
    assert "scoped to a valid region" in warned["us-moon-1"]
    assert warned["us-moon-1"].endswith("(no such region?)")
    assert {n["region"] for n in json.loads(out.stdout)} == {"us-east-1"}


def test_every_region_garbled_is_one_plain_error_exit_1(faults: Any, home: Path) -> None:
    faults.garble = {"us-east-1": "truncated", "eu-west-1": "truncated"}
    out = run(faults, home, "--list", *regions_args(*FLEET_REGIONS))
    no_traceback(out.stderr)
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sessiontui: listing failed in every region")
    assert "eu-west-1: DescribeInstanceProperties: unreadable answer" in lines[0]
    assert out.stdout == ""


async def test_tui_marks_the_garbled_region_failed_and_lists_the_other(
    faults: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.config import load_config
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.services import AppServices
    from test_ui_support import settle

    for key, value in faults.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    reference = listed(faults, home, *FLEET_REGIONS)
    faults.garble = {"eu-west-1": "truncated"}
    app = SessiontuiApp(
        AppServices(factory=ClientFactory(), regions=list(FLEET_REGIONS), config=load_config())
    )
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        screen = app.main_screen
        failed = [n for n in app._notifications if n.title == "eu-west-1: listing failed"]
        assert len(failed) == 1
        assert failed[0].message.startswith("DescribeInstanceProperties: unreadable answer")
        assert "failed: eu-west-1" in str(screen.node_list.border_subtitle)
        east = sorted(n["id"] for n in reference if n["region"] == "us-east-1")
        assert sorted(n.id for n in screen.node_list.nodes) == east
