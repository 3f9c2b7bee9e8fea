"""The sandbox's just-in-time node access answers as AWS does: StartAccessRequest,
GetAccessToken, the policies behind them, the approver, and StartSession on governed nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.jit_requests import TOKEN_POLL_SECONDS


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def ssm(sandbox: Sandbox) -> Any:
    return client(sandbox, "ssm")


@pytest.fixture(scope="module")
def raw(sandbox: Sandbox) -> Any:
    """A client that lets through what botocore's own validation would refuse."""
    return client(sandbox, "ssm", parameter_validation=False)


@pytest.fixture(scope="module")
def ids(sandbox: Sandbox) -> dict[str, str]:
    out = {}
    for region in sandbox.regions:
        pages = client(sandbox, "ec2", region).describe_instances()["Reservations"]
        for inst in (i for r in pages for i in r["Instances"]):
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            if "Name" in tags:
                out.setdefault(tags["Name"], inst["InstanceId"])
    info = client(sandbox, "ssm").describe_instance_information(
        Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}], MaxResults=50
    )
    for item in info["InstanceInformationList"]:
        out.setdefault(item["Name"], item["InstanceId"])
    return out


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def request(ssm: Any, *nodes: str, reason: str = "INC-1234") -> str:
    targets = [{"Key": "InstanceIds", "Values": list(nodes)}]
    return str(ssm.start_access_request(Reason=reason, Targets=targets)["AccessRequestId"])


def token(ssm: Any, request_id: str) -> dict[str, Any]:
    """GetAccessToken no faster than the sandbox allows per request."""
    for _ in range(3):
        try:
            return dict(ssm.get_access_token(AccessRequestId=request_id))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ThrottlingException":
                raise
            time.sleep(TOKEN_POLL_SECONDS)
    raise AssertionError("still throttled")


def control(sb: Sandbox, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{sb.endpoint_url}/_sandbox/control",
        data=json.dumps(body).encode(),
        method="POST",
        headers=sb.control_headers(),
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- policies ----------------------------------------------------------------------------------------


def test_auto_approved_request_gives_an_hour_on_its_target_only(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-api-01"])
    assert request_id.startswith("oi-") and len(request_id) == 15
    answer = token(ssm, request_id)
    assert answer["AccessRequestStatus"] == "Approved"
    creds = answer["Credentials"]
    left = (creds["ExpirationTime"] - sandbox.state.now()).total_seconds()
    assert 3590 <= left <= 3600
    holder = client(sandbox, "ssm", creds=creds)
    session = holder.start_session(Target=ids["pay-api-01"])
    assert session["SessionId"].startswith("operator-")
    with pytest.raises(ClientError) as exc:
        holder.start_session(Target=ids["pay-api-02"])
    code, message = error_of(exc)
    assert code == "AccessDeniedException"
    assert "no session policy allows the ssm:StartSession action" in message
    holder.terminate_session(SessionId=session["SessionId"])


def test_roles_cannot_start_sessions_on_governed_nodes(
    sandbox: Sandbox, ids: dict[str, str]
) -> None:
    admin = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    with pytest.raises(ClientError) as exc:
        admin.start_session(Target=ids["pay-ledger-01"])
    code, message = error_of(exc)
    assert code == "AccessDeniedException"
    assert "governed by just-in-time node access" in message
    # the other nodes are as they were
    session = admin.start_session(Target=ids["prod-web-01"])
    admin.terminate_session(SessionId=session["SessionId"])


def test_deny_policy_wins_over_auto_approval(ssm: Any, ids: dict[str, str]) -> None:
    with pytest.raises(ClientError) as exc:
        request(ssm, ids["pay-api-02"], ids["pay-vault-01"])
    code, message = error_of(exc)
    assert code == "AccessDeniedException"
    assert "explicit deny in a deny-access policy" in message


def test_a_node_no_policy_covers_cannot_be_requested(ssm: Any, ids: dict[str, str]) -> None:
    with pytest.raises(ClientError) as exc:
        request(ssm, ids["prod-web-01"])
    code, message = error_of(exc)
    assert code == "AccessDeniedException"
    assert "No approval policy applies" in message


def test_manual_request_waits_for_the_approver(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-ledger-01"], ids["pay-api-01"])
    answer = token(ssm, request_id)
    assert answer["AccessRequestStatus"] == "Pending"
    assert "Credentials" not in answer
    status, body = control(sandbox, {"approve": request_id})
    assert status == 200, body
    time.sleep(TOKEN_POLL_SECONDS)
    answer = token(ssm, request_id)
    assert answer["AccessRequestStatus"] == "Approved"
    left = (answer["Credentials"]["ExpirationTime"] - sandbox.state.now()).total_seconds()
    assert 2 * 3600 - 10 <= left <= 2 * 3600  # the manual policy's two hours
    status, body = control(sandbox, {"approve": request_id})
    assert status == 400 and "only a Pending request" in body["error"]


def test_tag_target_takes_the_governed_nodes_it_matches(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = str(
        ssm.start_access_request(
            Reason="INC-7", Targets=[{"Key": "tag:Role", "Values": ["web", "db"]}]
        )["AccessRequestId"]
    )
    row = next(
        r
        for r in sandbox.state.access.listing(sandbox.state.now())
        if r["access_request_id"] == request_id
    )
    assert row["policy"] == "manual"  # pay-ledger-01 needs an approver
    assert {ids["pay-ledger-01"], ids["pay-api-01"], ids["pay-api-02"]} == set(row["node_ids"])
    with pytest.raises(ClientError) as exc:  # the project takes in the restricted vault too
        ssm.start_access_request(
            Reason="INC-7", Targets=[{"Key": "tag:project", "Values": ["Payments"]}]
        )
    assert "explicit deny" in error_of(exc)[1]


def test_rejected_request_gets_no_credentials(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-ledger-01"])
    status, _ = control(sandbox, {"reject": request_id, "reason": "not during the freeze"})
    assert status == 200
    answer = token(ssm, request_id)
    assert answer["AccessRequestStatus"] == "Rejected"
    assert "Credentials" not in answer


def test_revoke_ends_the_sessions_the_token_carried(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-api-02"])
    creds = token(ssm, request_id)["Credentials"]
    holder = client(sandbox, "ssm", creds=creds)
    session_id = holder.start_session(Target=ids["pay-api-02"])["SessionId"]
    status, _ = control(sandbox, {"revoke": request_id})
    assert status == 200
    record = sandbox.state.sessions[session_id]
    assert sandbox.state.session_status(record) == "Terminated"
    assert request_id in record.end_reason and "revoked" in record.end_reason
    with pytest.raises(ClientError) as exc:
        holder.start_session(Target=ids["pay-api-02"])
    code, message = error_of(exc)
    assert code == "AccessDeniedException" and f"{request_id} is Revoked" in message
    time.sleep(TOKEN_POLL_SECONDS)
    assert token(ssm, request_id)["AccessRequestStatus"] == "Revoked"


def test_approved_access_expires_with_its_credentials(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-api-01"])
    creds = token(ssm, request_id)["Credentials"]
    sandbox.clock_offset = 3601
    time.sleep(TOKEN_POLL_SECONDS)
    assert token(ssm, request_id)["AccessRequestStatus"] == "Expired"
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ssm", creds=creds).start_session(Target=ids["pay-api-01"])
    assert error_of(exc)[0] == "ExpiredTokenException"


def test_pending_request_lapses_after_a_day(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str]
) -> None:
    request_id = request(ssm, ids["pay-hsm-gw-01"])
    sandbox.clock_offset = 25 * 3600
    assert token(ssm, request_id)["AccessRequestStatus"] == "Expired"


def test_requests_are_regional(sandbox: Sandbox, ids: dict[str, str]) -> None:
    eu = client(sandbox, "ssm", "eu-west-1")
    request_id = request(eu, ids["pay-eu-api-01"])
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ssm").get_access_token(AccessRequestId=request_id)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert token(eu, request_id)["AccessRequestStatus"] == "Approved"


# -- limits and words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "constraint"),
    [
        ("", "Member must have length greater than or equal to 1"),
        ("x" * 257, "Member must have length less than or equal to 256"),
    ],
)
def test_reason_limits(raw: Any, ids: dict[str, str], reason: str, constraint: str) -> None:
    with pytest.raises(ClientError) as exc:
        raw.start_access_request(
            Reason=reason, Targets=[{"Key": "InstanceIds", "Values": [ids["pay-api-01"]]}]
        )
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value ")
    assert f"at 'reason' failed to satisfy constraint: {constraint}" in message


def test_at_most_five_targets(raw: Any, ids: dict[str, str]) -> None:
    target = {"Key": "InstanceIds", "Values": [ids["pay-api-01"]]}
    with pytest.raises(ClientError) as exc:
        raw.start_access_request(Reason="", Targets=[target] * 6)
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    assert (
        "at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5"
        in message
    )


def test_no_target_and_unknown_nodes(raw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        raw.start_access_request(Reason="INC-1", Targets=[])
    assert error_of(exc) == (
        "ValidationException",
        "At least one target is required for a just-in-time node access request.",
    )
    with pytest.raises(ClientError) as exc:
        raw.start_access_request(
            Reason="INC-1", Targets=[{"Key": "InstanceIds", "Values": ["i-0123456789abcdef0"]}]
        )
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        raw.start_access_request(Reason="INC-1", Targets=[{"Key": "Names", "Values": ["x"]}])
    assert "is not supported" in error_of(exc)[1]


def test_request_id_pattern_and_unknown_ids(raw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        raw.get_access_token(AccessRequestId="oi-XYZ")
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Member must satisfy regular expression pattern: ^(oi)-[0-9a-f]{12}$" in message
    with pytest.raises(ClientError) as exc:
        raw.get_access_token(AccessRequestId="oi-000000000000")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        "Access request oi-000000000000 was not found.",
    )


def test_polling_faster_than_allowed_is_throttled(ssm: Any, ids: dict[str, str]) -> None:
    request_id = request(ssm, ids["pay-ledger-01"])
    ssm.get_access_token(AccessRequestId=request_id)
    with pytest.raises(ClientError) as exc:
        ssm.get_access_token(AccessRequestId=request_id)
    assert error_of(exc) == ("ThrottlingException", "Rate exceeded")
    time.sleep(TOKEN_POLL_SECONDS)
    assert ssm.get_access_token(AccessRequestId=request_id)["AccessRequestStatus"] == "Pending"


# -- the approver's command ---------------------------------------------------------------------------


def approver(sb: Sandbox, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessiontui_sandbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_approver_command_finds_the_announced_sandbox(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str], private_home: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    missing = approver(sandbox, "requests", env=env)
    assert missing.returncode == 2 and "no running sandbox found" in missing.stderr
    sandbox.announce()  # as `sessiontui --demo` does; HOME and XDG are the test's
    try:
        request_id = request(ssm, ids["pay-hsm-gw-01"], reason="CHG-42 rotate keys")
        listed = approver(sandbox, "requests", env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"{request_id}  Pending" in listed.stdout and "CHG-42 rotate keys" in listed.stdout
        done = approver(sandbox, "approve", request_id, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{request_id} approved"
        again = approver(sandbox, "reject", request_id, env=env)
        assert again.returncode == 2
        assert "is Approved: only a Pending request can be rejected" in again.stderr
    finally:  # the module's sandbox keeps running; only its endpoint file goes
        from sessiontui_sandbox.approver import forget

        if sandbox._announced is not None:
            forget(sandbox._announced, sandbox.endpoint_url)
            sandbox._announced = None
    assert not (Path(os.environ["XDG_STATE_HOME"]) / "sessiontui" / "sandbox.json").exists()


def test_approver_command_uses_aws_endpoint_url(
    sandbox: Sandbox, ssm: Any, ids: dict[str, str], private_home: Path
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": sandbox.endpoint_url}
    request_id = request(ssm, ids["pay-ledger-01"])
    # the endpoint alone is not enough: the control calls need the secret the sandbox printed
    refused = approver(sandbox, "approve", request_id, env=env)
    assert refused.returncode == 2 and "control secret" in refused.stderr
    env["SESSIONTUI_SANDBOX_TOKEN"] = sandbox.control_token
    assert approver(sandbox, "approve", request_id, env=env).returncode == 0
    revoked = approver(sandbox, "revoke", request_id, "--reason", "done", env=env)
    assert revoked.returncode == 0, revoked.stderr
    row = next(
        r
        for r in sandbox.state.access.listing(sandbox.state.now())
        if r["access_request_id"] == request_id
    )
    assert (row["status"], row["status_reason"]) == ("Revoked", "done")


def test_every_demo_account_has_a_governed_group(sandbox: Sandbox) -> None:
    """Beside 123456789012's, each Identity Center account governs a group of its own: its
    permission set is refused a session there, a request from it gives a token in its account."""
    from sessiontui_sandbox.accounts import DEMO_ACCOUNTS, PRODUCTION_ACCOUNT, SHARED_ACCOUNT
    from sso_support import role_keys

    assert all(a.governed for a in DEMO_ACCOUNTS[1:])
    sso_token = sandbox.sso_cache_token()["accessToken"]

    def names(keys: dict[str, Any]) -> dict[str, str]:
        pages = client(sandbox, "ec2", "us-east-1", keys).describe_instances()["Reservations"]
        found = (i for r in pages for i in r["Instances"])
        tags = ((i["InstanceId"], {t["Key"]: t["Value"] for t in i.get("Tags", [])}) for i in found)
        return {t["Name"]: i for i, t in tags if "Name" in t}

    prod_keys = role_keys(sandbox, sso_token, PRODUCTION_ACCOUNT, "ProductionAccess")
    prod = client(sandbox, "ssm", creds=prod_keys)
    gateway = names(prod_keys)["prod-pay-gw-01"]
    # a set whose policy reaches every node (ProductionAccess's reaches Production's alone)
    admin = role_keys(sandbox, sso_token, PRODUCTION_ACCOUNT, "SessionManagerAdmin")
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ssm", creds=admin).start_session(Target=gateway)
    assert "governed by just-in-time node access" in error_of(exc)[1]
    answer = token(prod, request(prod, gateway))
    assert answer["AccessRequestStatus"] == "Approved"  # jit=auto
    holder = client(sandbox, "ssm", creds=answer["Credentials"])
    session = holder.start_session(Target=gateway)
    holder.terminate_session(SessionId=session["SessionId"])
    assert sandbox.state.access.for_key(answer["Credentials"]["AccessKeyId"]).account == (
        PRODUCTION_ACCOUNT
    )

    shared_keys = role_keys(sandbox, sso_token, SHARED_ACCOUNT, "AdminAccess")
    shared = client(sandbox, "ssm", creds=shared_keys)
    signing = names(shared_keys)["signing-key-01"]
    request_id = request(shared, signing, reason="CHG-9 rotate the signing key")
    assert token(shared, request_id)["AccessRequestStatus"] == "Pending"  # jit=manual
    assert control(sandbox, {"approve": request_id})[0] == 200
    assert token(shared, request_id)["AccessRequestStatus"] == "Approved"
