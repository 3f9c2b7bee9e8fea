"""The sandbox's Run Command answers as AWS does, through boto3: the script runs for real in the
node's environment, statuses move Pending -> InProgress -> terminal, MaxConcurrency and MaxErrors
are honoured, offline nodes are Undeliverable, the execution timeout and cancel stop scripts,
output is cut as AWS cuts it, and the demo roles' scope and IAM policies authorise SendCommand."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox
from sso_support import portal
from test_sso_access import PRODUCTION, aws_cli_login

TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def ssm(sandbox: Sandbox) -> Any:
    """FleetAdmin (no scope) in the operator's own account."""
    return client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))


@pytest.fixture(scope="module")
def ids(sandbox: Sandbox) -> dict[str, str]:
    """Name -> instance id in us-east-1, as EC2 lists them (never moto's internals)."""
    ec2 = client(sandbox, "ec2")
    found: dict[str, str] = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for inst in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                if tags.get("Name"):
                    found.setdefault(tags["Name"], inst["InstanceId"])
    return found


def invocations(ssm: Any, command_id: str) -> list[dict[str, Any]]:
    pages = ssm.get_paginator("list_command_invocations").paginate(
        CommandId=command_id, Details=True
    )
    return [i for p in pages for i in p["CommandInvocations"]]


def wait_done(
    ssm: Any,
    command_id: str,
    timeout: float = 30,
    each: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = invocations(ssm, command_id)
        if each is not None:
            each(found)
        if found and all(i["Status"] in TERMINAL for i in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"command {command_id} still running: {invocations(ssm, command_id)}")


def send(ssm: Any, node_ids: list[str], script: str, **kwargs: Any) -> str:
    params = {"commands": [script], **kwargs.pop("Parameters", {})}
    answer = ssm.send_command(
        InstanceIds=node_ids, DocumentName="AWS-RunShellScript", Parameters=params, **kwargs
    )
    return str(answer["Command"]["CommandId"])


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_hostname_prints_each_nodes_name_and_the_statuses_move_as_aws_moves_them(
    ssm: Any, ids: dict[str, str]
) -> None:
    names = ["prod-web-01", "prod-web-02", "stg-web-01"]
    answer = ssm.send_command(
        InstanceIds=[ids[n] for n in names],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["hostname; whoami; echo oops >&2"]},
        Comment="TICKET-1 facts",
    )
    command = answer["Command"]
    assert command["Status"] == "Pending" and command["TargetCount"] == 3
    assert (command["MaxConcurrency"], command["MaxErrors"]) == ("50", "0")  # AWS's defaults
    seen: set[str] = set()
    done = wait_done(
        ssm, command["CommandId"], each=lambda rows: seen.update(r["Status"] for r in rows)
    )
    assert {"Pending", "InProgress"} & seen, "a status before the terminal one was seen"
    by_id = {i["InstanceId"]: i for i in done}
    for name in names:
        inv = by_id[ids[name]]
        assert inv["Status"] == inv["StatusDetails"] == "Success"
        (plugin,) = inv["CommandPlugins"]
        assert plugin["Name"] == "aws:runShellScript" and plugin["ResponseCode"] == 0
        assert plugin["Output"] == f"{name}\nroot\n\n----------ERROR-------\noops\n"
        assert plugin["ResponseFinishDateTime"] >= plugin["ResponseStartDateTime"]
    one = ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=ids["prod-web-02"])
    assert one["StandardOutputContent"] == "prod-web-02\nroot\n"
    assert one["StandardErrorContent"] == "oops\n"
    (listed,) = ssm.list_commands(CommandId=command["CommandId"])["Commands"]
    assert (listed["Status"], listed["CompletedCount"], listed["ErrorCount"]) == ("Success", 3, 0)
    assert listed["Comment"] == "TICKET-1 facts"


def test_max_concurrency_runs_that_many_at_a_time(ssm: Any, ids: dict[str, str]) -> None:
    nodes = [ids[f"prod-web-0{i}"] for i in range(1, 6)]
    command_id = send(ssm, nodes, "sleep 1", MaxConcurrency="2")
    done = wait_done(ssm, command_id)
    spans = [
        (
            i["CommandPlugins"][0]["ResponseStartDateTime"],
            i["CommandPlugins"][0]["ResponseFinishDateTime"],
        )
        for i in done
    ]
    moments = sorted(t for span in spans for t in span)
    most = max(sum(1 for s, e in spans if s <= m < e) for m in moments)
    assert most == 2, f"at most two at once, and two did run together: {spans}"


def test_max_errors_stops_sending_once_exceeded(ssm: Any, ids: dict[str, str]) -> None:
    nodes = [ids[f"prod-worker-0{i}"] for i in range(1, 5)] + [ids["prod-db-01"], ids["prod-db-02"]]
    command_id = send(ssm, nodes, "exit 3", MaxConcurrency="1", MaxErrors="1")
    done = {i["InstanceId"]: i for i in wait_done(ssm, command_id)}
    statuses = [done[n]["Status"] for n in nodes]
    assert statuses == ["Failed", "Failed", "Cancelled", "Cancelled", "Cancelled", "Cancelled"]
    assert done[nodes[0]]["CommandPlugins"][0]["ResponseCode"] == 3
    (command,) = ssm.list_commands(CommandId=command_id)["Commands"]
    assert (command["Status"], command["ErrorCount"]) == ("Failed", 2)


def test_max_errors_as_a_share_and_a_failure_under_it_is_incomplete(
    ssm: Any, ids: dict[str, str]
) -> None:
    nodes = [ids[f"prod-web-0{i}"] for i in range(1, 5)]
    command_id = send(ssm, nodes, '[ "$(hostname)" != prod-web-01 ]', MaxErrors="25%")
    done = {i["InstanceId"]: i["Status"] for i in wait_done(ssm, command_id)}
    assert sorted(done.values()) == ["Failed", "Success", "Success", "Success"]
    (command,) = ssm.list_commands(CommandId=command_id)["Commands"]
    assert command["StatusDetails"] == "Incomplete"


def test_an_offline_node_is_undeliverable_and_one_going_offline_mid_run_too(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    nodes = [ids["prod-cache-01"], ids["prod-web-03"], ids["prod-web-04"], ids["prod-web-05"]]
    command_id = send(ssm, nodes, "sleep 1", MaxConcurrency="1")
    try:
        wait_done(
            ssm,
            command_id,
            each=lambda rows: (
                sandbox.set_ping(ids["prod-web-05"])
                if any(r["Status"] == "InProgress" for r in rows)
                else None
            ),
        )
    finally:
        sandbox.set_ping(ids["prod-web-05"], "Online")
    done = {i["InstanceId"]: i for i in invocations(ssm, command_id)}
    assert done[ids["prod-cache-01"]]["StatusDetails"] == "Undeliverable"  # ConnectionLost
    assert done[ids["prod-web-05"]]["StatusDetails"] == "Undeliverable"  # went offline
    assert done[ids["prod-web-03"]]["Status"] == "Success"
    (command,) = ssm.list_commands(CommandId=command_id)["Commands"]
    assert command["ErrorCount"] == 0, "Undeliverable counts against no MaxErrors"


def test_the_execution_timeout_kills_the_script(ssm: Any, ids: dict[str, str]) -> None:
    began = time.monotonic()
    command_id = send(ssm, [ids["dev-web-01"]], "sleep 30", Parameters={"executionTimeout": ["2"]})
    (inv,) = wait_done(ssm, command_id)
    assert time.monotonic() - began < 15
    assert (inv["Status"], inv["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


def test_output_is_cut_as_aws_cuts_it(ssm: Any, ids: dict[str, str]) -> None:
    script = "head -c 30000 /dev/zero | tr '\\0' o; head -c 9000 /dev/zero | tr '\\0' e >&2"
    command_id = send(ssm, [ids["dev-web-02"]], script)
    (inv,) = wait_done(ssm, command_id)
    assert len(inv["CommandPlugins"][0]["Output"]) == 2500
    one = ssm.get_command_invocation(CommandId=command_id, InstanceId=ids["dev-web-02"])
    assert len(one["StandardOutputContent"]) == 24000
    assert len(one["StandardErrorContent"]) == 8000


def test_cancel_stops_one_node_then_the_whole_command(ssm: Any, ids: dict[str, str]) -> None:
    nodes = [ids["stg-web-01"], ids["stg-web-02"], ids["stg-web-03"]]
    command_id = send(ssm, nodes, "sleep 60", MaxConcurrency="2")
    wait = time.monotonic() + 10
    while not any(i["Status"] == "InProgress" for i in invocations(ssm, command_id)):
        assert time.monotonic() < wait
        time.sleep(0.1)
    ssm.cancel_command(CommandId=command_id, InstanceIds=[nodes[0]])
    began = time.monotonic()
    ssm.cancel_command(CommandId=command_id)
    done = {i["InstanceId"]: i["Status"] for i in wait_done(ssm, command_id, timeout=10)}
    assert time.monotonic() - began < 8
    assert set(done.values()) == {"Cancelled"}
    (command,) = ssm.list_commands(CommandId=command_id)["Commands"]
    assert command["Status"] == "Cancelled"
    with pytest.raises(ClientError) as exc:
        ssm.cancel_command(CommandId="0b0e3c6e-0000-4000-8000-000000000000")
    assert error_code(exc) == "InvalidCommandId"


def test_targets_by_tag_reach_the_tagged_nodes(ssm: Any, ids: dict[str, str]) -> None:
    answer = ssm.send_command(
        Targets=[
            {"Key": "tag:Role", "Values": ["db"]},
            {"Key": "tag:project", "Values": ["Staging"]},
        ],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["hostname"]},
    )
    done = wait_done(ssm, answer["Command"]["CommandId"])
    outputs = sorted(i["CommandPlugins"][0]["Output"].strip() for i in done)
    assert outputs == ["stg-db-01"]


def test_a_role_cannot_send_outside_its_scope_and_the_operator_cannot_send_at_all(
    sandbox: Sandbox, ids: dict[str, str]
) -> None:
    prod = client(sandbox, "ssm", creds=sandbox.role_credentials("ProdOps"))
    with pytest.raises(ClientError) as exc:
        send(prod, [ids["prod-web-01"], ids["stg-web-01"]], "hostname")
    assert error_code(exc) == "AccessDeniedException"
    assert f"instance/{ids['stg-web-01']}" in str(exc.value)
    assert "ssm:SendCommand" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        send(client(sandbox, "ssm"), [ids["prod-web-01"]], "hostname")
    assert error_code(exc) == "AccessDeniedException"


def test_bad_requests_get_aws_errors(ssm: Any, ids: dict[str, str]) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"DocumentName": "No-Such-Doc", "InstanceIds": [ids["prod-web-01"]]}, "InvalidDocument"),
        (
            {"DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-0123456789abcdef0"]},
            "InvalidInstanceId",
        ),
        (
            {
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds": [ids["prod-web-01"]],
                "MaxConcurrency": "0",
            },
            "ValidationException",
        ),
        (
            {
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds": [ids["prod-web-01"]],
                "MaxErrors": "101%",
            },
            "ValidationException",
        ),
    ]
    for kwargs, code in cases:
        params = (
            {"Parameters": {"commands": ["true"]}}
            if "No-Such" not in kwargs["DocumentName"]
            else {}
        )
        with pytest.raises(ClientError) as exc:
            ssm.send_command(**kwargs, **params)
        assert error_code(exc) == code, kwargs
    with pytest.raises(ClientError) as exc:
        ssm.send_command(InstanceIds=[ids["prod-web-01"]], DocumentName="AWS-RunShellScript")
    assert error_code(exc) == "InvalidParameters"  # no commands


def test_paging_limits_and_next_token(ssm: Any, ids: dict[str, str]) -> None:
    nodes = [ids[f"prod-web-0{i}"] for i in range(1, 6)]
    command_id = send(ssm, nodes, "true")
    wait_done(ssm, command_id)
    with pytest.raises(ClientError) as exc:
        ssm.list_command_invocations(CommandId=command_id, MaxResults=51)
    assert error_code(exc) == "ValidationException"
    first = ssm.list_command_invocations(CommandId=command_id, MaxResults=2)
    assert len(first["CommandInvocations"]) == 2 and first["NextToken"]
    seen = [i["InstanceId"] for i in first["CommandInvocations"]]
    token = first.get("NextToken")
    while token:
        page = ssm.list_command_invocations(CommandId=command_id, MaxResults=2, NextToken=token)
        seen += [i["InstanceId"] for i in page["CommandInvocations"]]
        token = page.get("NextToken")
    assert sorted(seen) == sorted(nodes)


def test_list_documents_pages_as_aws_does_searches_and_describes_parameters(ssm: Any) -> None:
    command = [{"Key": "DocumentType", "Values": ["Command"]}]
    first = ssm.list_documents(Filters=command, MaxResults=50)
    assert len(first["DocumentIdentifiers"]) == 50 and first["NextToken"]
    with pytest.raises(ClientError) as exc:
        ssm.list_documents(MaxResults=51)
    assert error_code(exc) == "ValidationException"
    rest = ssm.list_documents(Filters=command, MaxResults=50, NextToken=first["NextToken"])
    names = [d["Name"] for d in first["DocumentIdentifiers"] + rest["DocumentIdentifiers"]]
    assert "NextToken" not in rest and len(names) == len(set(names)) > 50
    assert {"AWS-RunShellScript", "AWS-RunPowerShellScript", "AWS-RunPatchBaseline",
            "AWS-UpdateSSMAgent", "AWS-ConfigureAWSPackage", "Ops-CollectFacts"} <= set(names)  # fmt: skip
    with pytest.raises(ClientError) as exc:  # a token is bound to the question it answered
        ssm.list_documents(MaxResults=50, NextToken=first["NextToken"])
    mine = ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])
    assert [d["Name"] for d in mine["DocumentIdentifiers"]] == ["Ops-CollectFacts"]
    found = ssm.list_documents(Filters=[*command, {"Key": "SearchKeyword", "Values": ["patch"]}])
    assert {d["Name"] for d in found["DocumentIdentifiers"]} >= {"AWS-RunPatchBaseline"}
    assert all("patch" in d["Name"].lower() for d in found["DocumentIdentifiers"])
    params = ssm.describe_document(Name="Ops-CollectFacts")["Document"]["Parameters"]
    assert [(p["Name"], p["DefaultValue"]) for p in params] == [("section", "all")]
    patch = ssm.describe_document(Name="AWS-RunPatchBaseline")["Document"]
    assert next(p["Name"] for p in patch["Parameters"]) == "Operation"
    assert patch["PlatformTypes"] == ["Windows", "Linux", "MacOS"]


def test_documents_check_their_parameters_and_listed_ones_say_they_are_not_run(
    ssm: Any, ids: dict[str, str]
) -> None:
    node = [ids["dev-web-01"]]
    for name, params in [
        ("AWS-RunPatchBaseline", {"Operation": ["Reboot"]}),  # not an allowed value
        ("AWS-ConfigureAWSPackage", {"action": ["Install"]}),  # name is required
        ("AWS-UpdateSSMAgent", {"nope": ["1"]}),
    ]:
        with pytest.raises(ClientError) as exc:
            ssm.send_command(InstanceIds=node, DocumentName=name, Parameters=params)
        assert error_code(exc) == "InvalidParameters", name
    answer = ssm.send_command(
        InstanceIds=node, DocumentName="AWS-RunPatchBaseline", Parameters={"Operation": ["Scan"]}
    )
    (inv,) = wait_done(ssm, answer["Command"]["CommandId"])
    assert inv["Status"] == "Success" and "Operation: Scan" in inv["CommandPlugins"][0]["Output"]
    answer = ssm.send_command(InstanceIds=node, DocumentName="AWS-RunInspecChecks")
    (inv,) = wait_done(ssm, answer["Command"]["CommandId"])
    assert (
        inv["Status"] == "Failed" and "does not carry it out" in inv["CommandPlugins"][0]["Output"]
    )


def test_a_document_of_the_account_runs_with_its_parameters(ssm: Any, ids: dict[str, str]) -> None:
    answer = ssm.send_command(
        InstanceIds=[ids["dev-web-01"]],
        DocumentName="Ops-CollectFacts",
        Parameters={"section": ["os"]},
    )
    (inv,) = wait_done(ssm, answer["Command"]["CommandId"])
    output = inv["CommandPlugins"][0]["Output"]
    assert output.startswith("host: dev-web-01\nkernel: ") and "disk:" not in output


# -- permission sets with IAM policies ------------------------------------------------------------


def _permission_set(sandbox: Sandbox, home: Path, name: str) -> Any:
    token = aws_cli_login(sandbox, home)["accessToken"]
    creds = portal(sandbox).get_role_credentials(
        roleName=name, accountId=PRODUCTION, accessToken=token
    )["roleCredentials"]
    session = boto3.Session(
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name="us-east-1",
    )
    return session.client("ssm", endpoint_url=sandbox.endpoint_url)


def test_iam_policies_authorise_send_command_on_the_document_and_nodes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    admin = _permission_set(sandbox, tmp_path, "SessionManagerAdmin")
    pages = admin.get_paginator("describe_instance_properties").paginate()
    node = next(
        n["InstanceId"]
        for p in pages
        for n in p["InstanceProperties"]
        if n.get("Name") == "prod-api-01"
    )
    command_id = send(admin, [node], "hostname")
    (inv,) = wait_done(admin, command_id)
    assert inv["CommandPlugins"][0]["Output"] == "prod-api-01\n"
    seed = _permission_set(sandbox, tmp_path, "ProductionPermissionSet")
    with pytest.raises(ClientError) as exc:
        send(seed, [node], "hostname")
    message = str(exc.value)
    assert error_code(exc) == "AccessDeniedException"
    assert "ssm:SendCommand" in message and "document/AWS-RunShellScript" in message
