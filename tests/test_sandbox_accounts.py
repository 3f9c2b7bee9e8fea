"""The sandbox's accounts: the large fleet spread over several, the sso-session written into its
AWS config, the CLI-cache helper, and the foreground runner's banner."""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sandbox_support import client
from sessiontui_sandbox import Sandbox
from sso_support import http, portal, role_keys


def test_large_fleet_spread_over_accounts() -> None:
    with Sandbox(fleet="large", size=60, accounts=3) as sb:
        per_account = Counter(n.account for r in sb.state.nodes.values() for n in r.values())
        assert len(per_account) == 3 and sum(per_account.values()) == 60
        assert per_account["123456789012"] == 20
        token = sb.sso_cache_token()["accessToken"]
        accounts = portal(sb).list_accounts(accessToken=token, maxResults=10)["accountList"]
        assert [a["accountName"] for a in accounts] == ["fleet-01", "fleet-02", "fleet-03"]
        second = accounts[1]["accountId"]
        keys = role_keys(sb, token, second, "AdminAccess")
        seen = 0
        for region in sb.regions:
            ssm = client(sb, "ssm", region, keys)
            pages = ssm.get_paginator("describe_instance_information").paginate()
            seen += sum(len(p["InstanceInformationList"]) for p in pages)
        assert seen == per_account[second]
        base = client(sb, "ssm", "us-east-1")
        pages = base.get_paginator("describe_instance_information").paginate()
        base_ids = {i["InstanceId"] for p in pages for i in p["InstanceInformationList"]}
        assert base_ids and all(
            sb.state.find_node("us-east-1", i, "123456789012") for i in base_ids
        )


def test_env_config_has_the_sso_session_and_a_profile_per_permission_set() -> None:
    with Sandbox(fleet="empty") as sb:
        parser = configparser.ConfigParser()
        parser.read(sb.env()["AWS_CONFIG_FILE"])
        assert dict(parser["sso-session sandbox"]) == {
            "sso_start_url": sb.sso_start_url,
            "sso_region": "us-east-1",
            "sso_registration_scopes": "sso:account:access",
        }
        assert sb.sso_start_url == f"{sb.endpoint_url}/_sandbox/start"
        status, text = http(sb.sso_start_url)  # the start URL answers, as a portal does
        assert status == 200 and "Production" in text and "/_sandbox/device" in text
        prod = parser["profile Production-ProductionAccess"]
        assert (prod["sso_session"], prod["sso_account_id"], prod["sso_role_name"]) == (
            "sandbox",
            "210987654321",
            "ProductionAccess",
        )
        assert "profile SharedServices-AdminAccess" in parser
        assert parser["default"]["region"] == "us-east-1"
        cached = sb.sso_cache_token()
        assert cached["startUrl"] == sb.sso_start_url and cached["refreshToken"]
        assert portal(sb).list_accounts(accessToken=cached["accessToken"])["accountList"]


def test_foreground_runner_says_whether_codes_approve_themselves() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiontui_sandbox", "--fleet", "empty", "--sso-auto-approve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("# sandbox on"):
                break
        banner = "".join(lines)
        assert "# Identity Center: start URL http://127.0.0.1:" in banner
        assert "sign-in codes are approved automatically (--sso-auto-approve)" in banner
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_uses_the_sandbox_sso_profiles(tmp_path: Path) -> None:
    """The AWS CLI (its own botocore) reads the token `aws sso login` would leave and gets the
    permission set's credentials from the sandbox's portal."""
    with Sandbox(fleet="empty") as sb:
        cache = tmp_path / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True)
        name = hashlib.sha1(b"sandbox").hexdigest()
        (cache / f"{name}.json").write_text(json.dumps(sb.sso_cache_token()))
        env = {**os.environ, **sb.env(), "HOME": str(tmp_path)}
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            env.pop(key, None)
        done = subprocess.run(
            ["aws", "sts", "get-caller-identity", "--profile", "Production-ProductionAccess"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        who = json.loads(done.stdout)
        assert who["Account"] == "210987654321"
        assert who["Arn"].startswith(
            "arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_ProductionAccess_"
        )
