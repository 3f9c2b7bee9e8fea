"""`sessiontui --list` as a real subprocess against the sandbox: flags, roles, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli_support import DESIGN_JSON_FIELDS, lasting_code, run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def managed_ids(sandbox: Any) -> set[str]:
    ids = set()
    for region in sandbox.regions:
        ssm = boto3.client(
            "ssm",
            region_name=region,
            endpoint_url=sandbox.endpoint_url,
            aws_access_key_id=sandbox.env()["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=sandbox.env()["AWS_SECRET_ACCESS_KEY"],
        )
        for page in ssm.get_paginator("describe_instance_information").paginate():
            ids |= {i["InstanceId"] for i in page["InstanceInformationList"]}
    return ids


def test_list_json_lists_every_managed_node(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--list", "--json")
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    assert managed_ids(sandbox) <= {n["id"] for n in nodes}
    for n in nodes:
        for key in DESIGN_JSON_FIELDS:
            assert key in n
        assert n["connectable"] == (n["why"] == "")


def test_list_table_and_filters(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--list", "--tag", "project=Production", "--region", "us-east-1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ID", "PING"]
    assert len(lines) > 2
    assert all("us-east-1" in line for line in lines[1:])
    js = json.loads(
        run(
            sandbox,
            home,
            "--list",
            "--json",
            "--tag",
            "project=Production",
            "--filter",
            "ping:online",
        ).stdout
    )
    assert js and all(
        n["tags"].get("project") == "Production" and n["ping_status"] == "Online" for n in js
    )


def test_list_with_role_applies_scope_and_second_run_reuses_cache(sandbox: Any, home: Path) -> None:
    sandbox.reset_calls()
    first = run(
        sandbox,
        home,
        "--list",
        "--json",
        "--role",
        "StagingDev",
        "--mfa-code",
        lasting_code(sandbox),  # good for 30 s at least: the CLI may be slow to start
    )
    assert first.returncode == 0, first.stderr
    nodes = json.loads(first.stdout)
    assert nodes and all(n["tags"].get("project") == "Staging" for n in nodes)
    assert sandbox.calls[("sts", "AssumeRole")] == 1
    second = run(sandbox, home, "--list", "--json", "--role", "StagingDev")
    assert second.returncode == 0, second.stderr
    assert [n["id"] for n in json.loads(second.stdout)] == [n["id"] for n in nodes]
    assert sandbox.calls[("sts", "AssumeRole")] == 1, "the cached credentials were reused"
    audit = (home / "state" / "sessiontui" / "log" / "audit.jsonl").read_text()
    assert '"event": "role_assumed"' in audit and "StagingDev" in audit


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--role", "StagingDev", "--mfa-code", "000000"], "MFA"),
        (["--role", "FleetAdmin", "--mfa-code", "123456", "--duration", "13h"], "maximum"),
        (["--role", "StagingDev", "--mfa-code", "123456", "--duration", "2h"], "maximum"),
        (["--role", "StagingDev"], "MFA"),
    ],
)
def test_role_refusals_exit_3_in_plain_words(
    sandbox: Any, home: Path, args: list[str], words: str
) -> None:
    out = run(sandbox, home, "--list", *args, extra={"SESSIONTUI_DEMO_TOTP": ""})
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert words in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 3


def test_reused_code_is_refused_with_exit_3(sandbox: Any, home: Path) -> None:
    code = lasting_code(sandbox)
    ok = run(sandbox, home, "--list", "--role", "StagingDev", "--mfa-code", code)
    assert ok.returncode == 0, ok.stderr
    again = run(sandbox, home / "other", "--list", "--role", "FleetAdmin", "--mfa-code", code)
    assert again.returncode == 3, again.stderr
    assert "MFA" in again.stderr


def test_unknown_role_and_bad_config_exit_2(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--list", "--role", "Nope")
    assert out.returncode == 2 and "unknown role 'Nope'" in out.stderr
    bad = home / "bad.toml"
    bad.write_text('regions = ["us-east-1"]\n[roles.X]\narn = "not-an-arn"\n')
    out = run(sandbox, home, "--list", extra={"SESSIONTUI_CONFIG": str(bad)})
    assert out.returncode == 2
    assert out.stderr.startswith("sessiontui: bad.toml:3:"), out.stderr


def test_no_credentials_exit_3_with_a_hint(sandbox: Any, home: Path) -> None:
    env_none = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
        "AWS_CONFIG_FILE": str(home / "none"),
    }
    out = run(sandbox, home, "--list", extra=env_none)
    assert out.returncode == 3, out.stderr
    assert "no AWS credentials" in out.stderr and "Traceback" not in out.stderr


def test_endpoint_down_fails_cleanly(sandbox: Any, home: Path) -> None:
    out = run(
        sandbox,
        home,
        "--list",
        extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"},
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "127.0.0.1:9" in out.stderr


def test_demo_list_json_lists_every_seeded_node(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--demo", "--list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    assert len(nodes) >= 60
    assert {n["region"] for n in nodes} == {"us-east-1", "eu-west-1"}
    assert any(n["id"].startswith("mi-") and n["tags"] for n in nodes)
