"""`sessiontui --sessions [--json]` and `--terminate ID|all` as real processes on the sandbox.

Sessions are started "elsewhere" (boto3 here, as the AWS CLI would) with the operator's role and
with someone else's: only the operator's show, and only theirs are ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli_support import run, session_status


def ssm_as(sandbox: Any, region: str, role: str, session_name: str) -> Any:
    creds = sandbox.role_credentials(role, session_name=session_name)
    return boto3.client(
        "ssm",
        region_name=region,
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = run(sandbox, tmp_path_factory.mktemp("fleet"), "--list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def started(sandbox: Any, fleet: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Two sessions of the operator (two regions' worth of targets) and one of someone else."""
    nodes = [n for n in fleet if n["connectable"] and n["tags"].get("project") == "Staging"]
    node = nodes[0]
    mine = ssm_as(sandbox, node["region"], "StagingDev", "operator")
    theirs = ssm_as(sandbox, node["region"], "StagingDev", "someone-else")
    a = mine.start_session(Target=node["id"], Reason="TICKET-42")["SessionId"]
    b = mine.start_session(
        Target=node["id"],
        DocumentName="AWS-StartPortForwardingSession",
        Parameters={"portNumber": ["80"], "localPortNumber": ["0"]},
    )["SessionId"]
    other = theirs.start_session(Target=node["id"])["SessionId"]
    yield {"node": node, "mine": [a, b], "other": other, "client": mine}
    # an administrator ends what is left: StagingDev may end only its own session's sessions
    admin = ssm_as(sandbox, node["region"], "FleetAdmin", "cleanup")
    for sid in (a, b, other):
        admin.terminate_session(SessionId=sid)


def test_sessions_lists_only_the_operators_own_with_time_left(
    sandbox: Any, tmp_path: Path, started: dict[str, Any]
) -> None:
    out = run(sandbox, tmp_path, "--sessions", "--json")
    assert out.returncode == 0, out.stderr
    listed = {s["session_id"]: s for s in json.loads(out.stdout)}
    assert set(started["mine"]) <= set(listed)
    assert started["other"] not in listed
    a, b = (listed[sid] for sid in started["mine"])
    assert a["target"] == started["node"]["id"] and a["reason"] == "TICKET-42"
    assert a["document"] == "SSM-SessionManagerRunShell"
    assert b["document"] == "AWS-StartPortForwardingSession"
    assert a["role"] == "StagingDev" and a["region"] == started["node"]["region"]
    # no cached credentials of the role here: the account's 60 min max session ends it
    assert a["ends_because"] == "max session 60 min"
    assert 58 * 60 < a["seconds_left"] <= 60 * 60
    table = run(sandbox, tmp_path, "--sessions")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("TARGET") and started["mine"][0] in table.stdout
    assert "TICKET-42" in table.stdout and "(max session 60 min)" in table.stdout
    assert started["other"] not in table.stdout


def test_terminate_one_then_all_of_the_operators_own(
    sandbox: Any, tmp_path: Path, started: dict[str, Any]
) -> None:
    region = started["node"]["region"]
    a, b = started["mine"]
    one = run(sandbox, tmp_path, "--terminate", a)
    assert one.returncode == 0, one.stderr
    assert f"terminated {a}" in one.stderr
    assert session_status(sandbox, region, a) == "Terminated"
    assert session_status(sandbox, region, b) != "Terminated"
    unknown = run(sandbox, tmp_path, "--terminate", a)  # no longer Active
    assert unknown.returncode == 2 and f"no Active session {a} of yours" in unknown.stderr
    every = run(sandbox, tmp_path, "--terminate", "all")
    assert every.returncode == 0, every.stderr
    assert session_status(sandbox, region, b) == "Terminated"
    assert session_status(sandbox, region, started["other"]) != "Terminated"  # not ours
    assert json.loads(run(sandbox, tmp_path, "--sessions", "--json").stdout) == []


def test_json_needs_a_mode_that_prints_it(sandbox: Any, tmp_path: Path) -> None:
    out = run(sandbox, tmp_path, "--terminate", "all", "--json")
    assert out.returncode == 2 and "--json goes with" in out.stderr
