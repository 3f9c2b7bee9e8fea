"""The sandbox's STS, faults and control endpoint."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sandbox_support import client
from sessiontui_sandbox import DEMO_MFA_SERIAL, DEMO_TOTP_SECRET, Sandbox, SandboxError

PROD = "arn:aws:iam::123456789012:role/ProdOps"
STAGING = "arn:aws:iam::123456789012:role/StagingDev"
ADMIN = "arn:aws:iam::123456789012:role/FleetAdmin"


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


@pytest.fixture
def sts(sandbox: Sandbox) -> Any:
    return client(sandbox, "sts")


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def assume(sts: Any, role: str, code: str | None, **kwargs: Any) -> Any:
    mfa = {"SerialNumber": DEMO_MFA_SERIAL, "TokenCode": code} if code else {}
    return sts.assume_role(RoleArn=role, RoleSessionName="operator", **mfa, **kwargs)


def test_start_is_fast_and_env_is_complete(sandbox: Sandbox) -> None:
    assert sandbox.start_seconds < 60  # a sanity bound: start-up is measured by the bench
    env = sandbox.env()
    assert env["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    assert "AWS_PROFILE" not in env
    for key in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "SESSIONTUI_CONFIG"):
        assert Path(env[key]).read_text(encoding="utf-8")
    config = Path(env["SESSIONTUI_CONFIG"]).read_text(encoding="utf-8")
    assert DEMO_TOTP_SECRET not in config and "[roles.ProdOps]" in config
    assert env["SESSIONTUI_DEMO_TOTP"] == DEMO_TOTP_SECRET


def test_caller_identity_for_base_and_role_keys(sandbox: Sandbox, sts: Any) -> None:
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/operator"
    role = client(sandbox, "sts", creds=sandbox.role_credentials("StagingDev", session_name="bob"))
    ident = role.get_caller_identity()
    assert ident["Arn"] == "arn:aws:sts::123456789012:assumed-role/StagingDev/bob"
    assert ident["Account"] == "123456789012"


def test_assume_role_with_the_right_code_then_reuse_is_refused(sandbox: Sandbox, sts: Any) -> None:
    code = sandbox.fresh_totp()
    out = assume(sts, PROD, code, DurationSeconds=7200)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert (
        out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/ProdOps/operator"
    )
    lifetime = (creds["Expiration"] - sandbox.state.now()).total_seconds()
    assert 7190 < lifetime <= 7200
    with pytest.raises(ClientError) as exc:
        assume(sts, PROD, code)
    assert error_of(exc) == (
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        403,
    )


def test_wrong_or_missing_code_is_refused(sandbox: Sandbox, sts: Any) -> None:
    good = pyotp.TOTP(DEMO_TOTP_SECRET).at(sandbox.state.time())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as exc:
        assume(sts, STAGING, wrong)
    assert error_of(exc)[0] == "AccessDenied" and "MultiFactorAuthentication" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        assume(sts, STAGING, None)
    assert error_of(exc)[1] == (
        "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: "
        f"sts:AssumeRole on resource: {STAGING}"
    )


def test_duration_over_the_role_maximum(sts: Any, sandbox: Sandbox) -> None:
    with pytest.raises(ClientError) as exc:
        assume(sts, STAGING, sandbox.totp_now(), DurationSeconds=7200)
    assert error_of(exc) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
    )
    iam = client(sandbox, "iam")
    assert iam.get_role(RoleName="ProdOps")["Role"]["MaxSessionDuration"] == 4 * 3600


def test_role_chaining_is_capped_at_one_hour(sandbox: Sandbox) -> None:
    chained = client(sandbox, "sts", creds=sandbox.role_credentials("FleetAdmin"))
    with pytest.raises(ClientError) as exc:
        assume(chained, PROD, sandbox.totp_now(), DurationSeconds=7200)
    assert error_of(exc)[1] == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining."
    )


def test_role_session_name_is_validated(sts: Any, sandbox: Sandbox) -> None:
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=PROD, RoleSessionName="no spaces allowed")
    assert error_of(exc)[0] == "ValidationError"
    assert "roleSessionName" in error_of(exc)[1]


def test_unknown_role_is_access_denied(sts: Any, sandbox: Sandbox) -> None:
    with pytest.raises(ClientError) as exc:
        assume(sts, "arn:aws:iam::123456789012:role/Nope", sandbox.totp_now())
    assert error_of(exc)[:2] == (
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: "
        "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Nope",
    )


def test_expired_credentials_are_refused_everywhere(sandbox: Sandbox) -> None:
    creds = sandbox.role_credentials("FleetAdmin", duration=900)
    ssm = client(sandbox, "ssm", creds=creds)
    ec2 = client(sandbox, "ec2", creds=creds)
    ssm.describe_instance_information()
    sandbox.clock_offset = 901
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_information()
    assert error_of(exc) == (
        "ExpiredTokenException",
        "The security token included in the request is expired",
        400,
    )
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances()
    assert error_of(exc)[0] == "ExpiredToken"


def test_throttling_faults_per_service(sandbox: Sandbox) -> None:
    sandbox.throttle_rate = 1.0
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ssm").describe_instance_information()
    assert error_of(exc) == ("ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ec2").describe_instances()
    assert error_of(exc)[0] == "RequestLimitExceeded" and error_of(exc)[2] == 503
    client(sandbox, "sts").get_caller_identity()  # STS is not throttled
    sandbox.throttle_rate = 0.5
    ssm = client(sandbox, "ssm")
    outcomes = []
    for _ in range(40):
        try:
            ssm.get_connection_status(Target="i-0")
            outcomes.append(True)
        except ClientError:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35


def test_down_fails_every_call_until_cleared(sandbox: Sandbox) -> None:
    sandbox.down = True
    calls = {
        "ssm": "describe_instance_information",
        "ec2": "describe_instances",
        "sts": "get_caller_identity",
    }
    for service, method in calls.items():
        call = getattr(client(sandbox, service), method)
        with pytest.raises((ClientError, EndpointConnectionError)) as exc:
            call()
        if isinstance(exc.value, ClientError):
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    sandbox.down = False
    client(sandbox, "ssm").describe_instance_information()


def test_control_and_calls_endpoints(sandbox: Sandbox) -> None:
    def http(path: str, body: Any = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            sandbox.endpoint_url + path, data=data, method=method, headers=sandbox.control_headers()
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    http("/_sandbox/calls", method="DELETE")
    client(sandbox, "ssm").describe_instance_information()
    assert http("/_sandbox/calls")["calls"] == {"ssm:DescribeInstanceInformation": 1}
    assert sandbox.calls[("ssm", "DescribeInstanceInformation")] == 1
    faults = http("/_sandbox/control", {"silent_agents": ["i-1"], "clock_offset": 5})
    assert faults["silent_agents"] == ["i-1"] and sandbox.clock_offset == 5
    assert len(http("/_sandbox/totp")["code"]) == 6


def test_second_sandbox_in_one_process_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="already running"):
        Sandbox().start()
    assert sandbox.running


def test_bad_signatures_and_missing_session_tokens_are_refused_as_aws_does(
    sandbox: Sandbox,
) -> None:
    """Requests with a key the sandbox knows are checked as SigV4 demands: the right secret,
    and for temporary keys their own session token (each service answers in its own words)."""
    env = sandbox.env()
    wrong = {"AccessKeyId": env["AWS_ACCESS_KEY_ID"], "SecretAccessKey": "not-the-secret"}
    wrong["SessionToken"] = ""
    expected = {
        "sts": ("SignatureDoesNotMatch", 403),
        "ssm": ("InvalidSignatureException", 400),
        "ec2": ("AuthFailure", 401),
    }
    for service, (code, status) in expected.items():
        with pytest.raises(ClientError) as exc:
            call(client(sandbox, service, creds=wrong), service)
        assert (error_of(exc)[0], error_of(exc)[2]) == (code, status), service

    role = sandbox.role_credentials("FleetAdmin", duration=900)
    no_token = {**role, "SessionToken": ""}
    other_token = {**role, "SessionToken": sandbox.role_credentials("FleetAdmin")["SessionToken"]}
    expected = {
        "sts": ("InvalidClientTokenId", 403),
        "ssm": ("UnrecognizedClientException", 400),
        "ec2": ("AuthFailure", 401),
    }
    for creds in (no_token, other_token):
        for service, (code, status) in expected.items():
            with pytest.raises(ClientError) as exc:
                call(client(sandbox, service, creds=creds), service)
            assert (error_of(exc)[0], error_of(exc)[2]) == (code, status), service
    for service in expected:  # the same key, signed properly, works everywhere
        call(client(sandbox, service, creds=role), service)


def call(api: Any, service: str) -> Any:
    if service == "sts":
        return api.get_caller_identity()
    if service == "ssm":
        return api.describe_instance_information()
    return api.describe_instances()


def test_the_tests_lasting_code_outlives_a_slow_start_when_two_windows_are_spent(
    sandbox: Sandbox, sts: Any
) -> None:
    """cli_support.lasting_code fell back to the previous window when the current and next ones
    were spent: a code with seconds to live, refused by the time a loaded machine's CLI sent it
    (test_cli_credentials failed on it now and then)."""
    from cli_support import lasting_code

    state = sandbox.state
    window = state.mfa_window()
    state.used_mfa.update({(DEMO_MFA_SERIAL, window), (DEMO_MFA_SERIAL, window + 1)})
    code = lasting_code(sandbox)
    accepted = [
        w
        for w in range(window - 1, window + 4)
        if code == str(state.totp.at(w * state.totp.interval))
    ]
    assert accepted and min(accepted) > state.mfa_window()  # the next window: 30 s at least
    assert assume(sts, PROD, code)["Credentials"]["AccessKeyId"].startswith("ASIA")
