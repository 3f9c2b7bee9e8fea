"""Least privilege, as the SSO guide in ../shared/seeds configures it: the sandbox authorises every
call of a permission set that carries IAM policies as IAM does, and sessiontui works with what the
seed's ProductionPermissionSet grants (issue 24).

The sandbox half calls AWS's APIs with the permission set's own credentials; the product half runs
the CLI as a subprocess, signed in as the AWS CLI leaves it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest
from botocore.exceptions import ClientError

from cli_support import cli_env, plugin_pids, run
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.ssm_sessions import terminate
from sso_support import portal
from test_sso_access import PRODUCTION, aws_cli_login

PERMISSION_SET = "Production/ProductionPermissionSet"


@pytest.fixture
def home(sandbox: Sandbox, tmp_path: Path) -> Any:
    sandbox.clear_faults()
    path = tmp_path / "home"
    path.mkdir()
    yield path
    sandbox.clear_faults()
    sandbox.sso_auto_approve = False


def _session(sandbox: Sandbox, home: Path, permission_set: str) -> boto3.Session:
    token = aws_cli_login(sandbox, home)["accessToken"]
    creds = portal(sandbox).get_role_credentials(
        roleName=permission_set, accountId=PRODUCTION, accessToken=token
    )["roleCredentials"]
    return boto3.Session(
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name="us-east-1",
    )


def _client(sandbox: Sandbox, session: boto3.Session, service: str) -> Any:
    return session.client(service, endpoint_url=sandbox.endpoint_url)


def _refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _node_id(ssm: Any, name: str) -> str:
    pages = ssm.get_paginator("describe_instance_properties").paginate()
    return next(
        n["InstanceId"] for p in pages for n in p["InstanceProperties"] if n.get("Name") == name
    )


def test_the_seed_permission_set_lists_through_instance_properties_only(
    sandbox: Sandbox, home: Path
) -> None:
    session = _session(sandbox, home, "ProductionPermissionSet")
    ssm, ec2 = _client(sandbox, session, "ssm"), _client(sandbox, session, "ec2")
    listed = ssm.describe_instance_properties()["InstanceProperties"]
    assert listed, "DescribeInstanceProperties is granted"
    assert ec2.describe_instances()["Reservations"], "so is ec2:DescribeInstances"
    code, message = _refusal(ssm.describe_instance_information)
    assert code == "AccessDeniedException"
    assert "is not authorized to perform: ssm:DescribeInstanceInformation" in message
    assert "AWSReservedSSO_ProductionPermissionSet_" in message
    tagging = _client(sandbox, session, "resourcegroupstaggingapi")
    assert _refusal(tagging.get_resources)[0] == "AccessDeniedException"


def test_shells_in_scope_but_not_forwards_nor_ending_its_own_sessions(
    sandbox: Sandbox, home: Path
) -> None:
    session = _session(sandbox, home, "ProductionPermissionSet")
    ssm = _client(sandbox, session, "ssm")
    api, analytics = _node_id(ssm, "prod-api-01"), _node_id(ssm, "prod-analytics-01")
    shell = ssm.start_session(Target=api)
    code, message = _refusal(ssm.start_session, Target=analytics)  # project=Analytics
    assert code == "AccessDeniedException" and f"instance/{analytics}" in message
    code, message = _refusal(
        ssm.start_session,
        Target=api,
        DocumentName="AWS-StartPortForwardingSession",
        Parameters={"portNumber": ["80"]},
    )
    assert code == "AccessDeniedException"
    assert "on resource: arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession" in message
    # ${aws:username} is undefined for an assumed role: the TerminateSession statement matches none
    code, message = _refusal(ssm.terminate_session, SessionId=shell["SessionId"])
    assert code == "AccessDeniedException" and "ssm:TerminateSession" in message
    assert _refusal(ssm.resume_session, SessionId=shell["SessionId"])[0] == "AccessDeniedException"
    ids = [s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]]
    assert shell["SessionId"] in ids, "the session it may not end is still open"
    terminate(sandbox.state, sandbox.state.sessions[shell["SessionId"]], "the test's cleanup")


def test_the_administrators_set_may_end_its_sessions(sandbox: Sandbox, home: Path) -> None:
    ssm = _client(sandbox, _session(sandbox, home, "SessionManagerAdmin"), "ssm")
    api = _node_id(ssm, "prod-api-01")
    shell = ssm.start_session(Target=api, DocumentName="AWS-StartPortForwardingSession")
    ssm.terminate_session(SessionId=shell["SessionId"])


def test_the_cli_lists_the_production_fleet_with_the_seed_permission_set(
    sandbox: Sandbox, home: Path
) -> None:
    aws_cli_login(sandbox, home)
    out = run(sandbox, home, "--list", "--json", "--role", PERMISSION_SET)
    assert out.returncode == 0, out.stderr
    nodes = {n["name"]: n for n in json.loads(out.stdout)}
    assert {"prod-api-01", "prod-orders-db-01", "prod-api-eu-01"} <= set(nodes)
    assert nodes["prod-api-01"]["tags"]["project"] == "Production"  # from ec2:DescribeInstances
    assert {n["account_id"] for n in nodes.values()} == {PRODUCTION}


def _shell(sandbox: Sandbox, home: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--connect", "prod-api-01", "--role", PERMISSION_SET],
        env=cli_env(sandbox, home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    child.expect(r"\$ ")
    child.sendline("hostname")
    child.expect("prod-api-01")
    return child


def test_the_cli_opens_a_shell_and_refuses_a_forward_with_the_seed_permission_set(
    sandbox: Sandbox, home: Path
) -> None:
    aws_cli_login(sandbox, home)
    child = _shell(sandbox, home)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    said = " ".join(str(child.before).split())
    child.close()
    assert child.exitstatus == 0, said
    # TerminateSession was refused, but the agent ended the shell that exited: nothing to tell
    assert "stays open" not in said
    forward = run(
        sandbox, home, "--connect", "prod-api-01", "--forward", "80", "--role", PERMISSION_SET
    )
    assert forward.returncode == 3, forward.stderr
    assert "Traceback" not in forward.stderr
    assert "AWS-StartPortForwardingSession" in forward.stderr


def test_a_session_this_access_may_not_end_is_named_with_its_end(
    sandbox: Sandbox, home: Path
) -> None:
    """The plugin dies mid-shell: sessiontui's TerminateSession is refused (`${aws:username}`
    matches nothing for an assumed role), DescribeSessions says the session is still Active, and
    the operator is told which session stays open, until when and why."""
    aws_cli_login(sandbox, home)
    child = _shell(sandbox, home)
    (plugin,) = plugin_pids(child.pid)
    os.kill(plugin, signal.SIGKILL)
    child.expect(pexpect.EOF)
    told = " ".join(str(child.before).split())
    child.close()
    assert "stays open on AWS" in told and "ssm:TerminateSession" in told, told
    (left,) = [r for r in sandbox.state.sessions.values() if r.session_id in told]
    assert sandbox.state.session_status(left) != "Terminated"
    assert "max session" in told or "idle timeout" in told
    terminate(sandbox.state, left, "the test's cleanup")
