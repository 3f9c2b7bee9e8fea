"""The demo fleet's identity is the sandbox's own: not moto's random sequence, not the versions.

The snapshots, the screenshots and many tests name demo nodes by id and address. Those once came
from moto's process-wide random sequence, so a release of moto or botocore that drew a few more
numbers before the seeding moved every id (issue 21). Here moto's sequence is stirred through
moto's public mock before the demo starts, the way such a release would, and the fleet the real
CLI lists must still be the recorded one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ui_scenes

STIR_THEN_LIST = """
import sys
import boto3
from moto import mock_aws

with mock_aws():
    ec2 = boto3.client(
        "ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    # every launch draws ids and addresses from moto's sequence, as a new release might
    ec2.run_instances(ImageId="ami-760aaa0f", MinCount=7, MaxCount=7)

from sessiontui.cli import main

sys.exit(main(["--demo", "--list", "--json"]))
"""


def _identity(nodes: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted((n["id"], n["region"], n["name"], n["private_ip"]) for n in nodes)


def test_the_demo_fleet_is_the_recording_whatever_moto_drew_before(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["PYTHONHASHSEED"] = "12345"  # and another hash order than the recording's
    listed = subprocess.run(
        [sys.executable, "-c", STIR_THEN_LIST],
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    recorded = json.loads(ui_scenes.FIXTURE.read_text(encoding="utf-8"))["nodes"]
    live = json.loads(listed.stdout)
    assert len(live) == len(recorded) == 67
    assert _identity(live) == _identity(recorded)
