"""The sandbox's Identity Center: the sso-oidc device flow, the portal API, and the keys it issues
working (and refused) against the sandbox's other services in their own account."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.accounts import PRODUCTION_ACCOUNT, SHARED_ACCOUNT, STAGING_ACCOUNT
from sso_support import (
    answer,
    http,
    oidc,
    oidc_error,
    poll,
    portal,
    refresh,
    register,
    role_keys,
    sign_in,
    start,
)

ROLE_ARN = re.compile(
    r"arn:aws:sts::(\d{12}):assumed-role/AWSReservedSSO_(\w+)_([0-9a-f]{16})/operator@example\.com"
)


@pytest.fixture(autouse=True)
def _reset(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()
    sandbox.sso_auto_approve = False
    sandbox.sso_access_token_seconds = 8 * 3600
    sandbox.sso_session_seconds = 8 * 3600


@pytest.fixture
def token(sandbox: Sandbox) -> str:
    _, reply = sign_in(sandbox)
    return str(reply["accessToken"])


def names(sb: Sandbox, creds: dict[str, Any], region: str = "us-east-1") -> set[str]:
    ssm = client(sb, "ssm", region, creds)
    ids = [
        i["InstanceId"]
        for page in ssm.get_paginator("describe_instance_information").paginate()
        for i in page["InstanceInformationList"]
    ]
    ec2 = client(sb, "ec2", region, creds)
    by_id = {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get("Name", "")
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    hybrid = {
        i["InstanceId"]: i.get("Name", "")
        for page in ssm.get_paginator("describe_instance_information").paginate()
        for i in page["InstanceInformationList"]
        if i["ResourceType"] == "ManagedInstance"
    }
    return {by_id.get(i) or hybrid.get(i, i) for i in ids}


def instance_id(sb: Sandbox, creds: dict[str, Any], name: str) -> str:
    ec2 = client(sb, "ec2", "us-east-1", creds)
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return str(found["Reservations"][0]["Instances"][0]["InstanceId"])


# -- sso-oidc ------------------------------------------------------------------------------------


def test_register_client_answers_as_aws(sandbox: Sandbox) -> None:
    reg = register(sandbox)
    now = sandbox.state.time()
    assert reg["clientId"] and len(reg["clientSecret"]) > 40
    assert abs(reg["clientIdIssuedAt"] - now) < 5
    assert reg["clientSecretExpiresAt"] - reg["clientIdIssuedAt"] == 90 * 86400
    bad_type = oidc_error(oidc(sandbox).register_client, clientName="x", clientType="confidential")
    assert bad_type == ("InvalidClientMetadataException", "invalid_client_metadata", 400)
    bad_scope = oidc_error(
        oidc(sandbox).register_client, clientName="x", clientType="public", scopes=["no such"]
    )
    assert bad_scope == ("InvalidScopeException", "invalid_scope", 400)


def test_device_flow_pending_slow_down_then_approved_through_the_page(sandbox: Sandbox) -> None:
    reg = register(sandbox)
    device = start(sandbox, reg)
    assert re.fullmatch(r"[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}", device["userCode"])
    page = f"{sandbox.endpoint_url}/_sandbox/device"
    assert device["verificationUri"] == page
    assert device["verificationUriComplete"] == f"{page}?user_code={device['userCode']}"
    assert device["expiresIn"] == 600 and device["interval"] == 1

    assert oidc_error(poll, sandbox, reg, device) == (
        "AuthorizationPendingException",
        "authorization_pending",
        400,
    )
    # again at once: faster than the interval, which RFC 8628 then raises by 5 s
    assert oidc_error(poll, sandbox, reg, device)[:2] == ("SlowDownException", "slow_down")
    sandbox.clock_offset += 2  # the old interval (1 s) is not enough any more: now 6, then 11
    assert oidc_error(poll, sandbox, reg, device)[0] == "SlowDownException"
    sandbox.clock_offset += 11.5
    assert oidc_error(poll, sandbox, reg, device)[0] == "AuthorizationPendingException"

    status, text = http(device["verificationUriComplete"])
    assert status == 200 and device["userCode"] in text and 'value="approve"' in text
    status, text = answer(sandbox, device["userCode"], "approve")
    assert status == 200 and "Request approved" in text

    sandbox.clock_offset += 12
    tok = poll(sandbox, reg, device)
    assert tok["tokenType"] == "Bearer" and tok["expiresIn"] == 8 * 3600
    assert tok["accessToken"] and tok["refreshToken"]
    assert "idToken" not in tok
    # a device code works once
    assert oidc_error(poll, sandbox, reg, device)[:2] == ("InvalidGrantException", "invalid_grant")
    # and the page says so if the operator clicks again
    assert answer(sandbox, device["userCode"], "deny")[0] == 409


def test_denied_on_the_page(sandbox: Sandbox) -> None:
    reg = register(sandbox)
    device = start(sandbox, reg)
    status, text = answer(sandbox, device["userCode"], "deny")
    assert status == 200 and "Request denied" in text
    assert oidc_error(poll, sandbox, reg, device) == (
        "AccessDeniedException",
        "access_denied",
        400,
    )


def test_device_code_expires(sandbox: Sandbox) -> None:
    reg = register(sandbox)
    device = start(sandbox, reg)
    sandbox.clock_offset += 601
    assert oidc_error(poll, sandbox, reg, device) == ("ExpiredTokenException", "expired_token", 400)
    assert http(device["verificationUriComplete"])[0] == 410
    assert answer(sandbox, device["userCode"], "approve")[0] == 410


def test_bad_client_grant_and_start_url(sandbox: Sandbox) -> None:
    reg = register(sandbox)
    device = start(sandbox, reg)
    wrong = {**reg, "clientSecret": "not-the-secret"}
    assert oidc_error(poll, sandbox, wrong, device) == (
        "InvalidClientException",
        "invalid_client",
        401,
    )
    other = register(sandbox)  # a device code belongs to the client that asked for it
    assert oidc_error(poll, sandbox, other, device)[0] == "InvalidGrantException"
    assert oidc_error(poll, sandbox, reg, {"deviceCode": "nope"})[0] == "InvalidGrantException"
    assert oidc_error(
        oidc(sandbox).start_device_authorization,
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        startUrl="https://d-0000000000.awsapps.com/start",
    ) == ("InvalidRequestException", "invalid_request", 400)
    assert oidc_error(
        oidc(sandbox).create_token,
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="password",
    )[:2] == ("UnsupportedGrantTypeException", "unsupported_grant_type")


def test_auto_approve_control_flag(sandbox: Sandbox) -> None:
    control = f"{sandbox.endpoint_url}/_sandbox/control"
    status, text = http(control, b'{"sso_auto_approve": true}', sandbox.control_headers())
    assert status == 200 and '"sso_auto_approve": true' in text
    assert sandbox.sso_auto_approve is True
    reg = register(sandbox)
    assert poll(sandbox, reg, start(sandbox, reg))["accessToken"]
    assert http(control, b'{"sso_session_seconds": 0}', sandbox.control_headers())[0] == 400


def test_access_token_expires_refresh_works_until_the_session_ends(sandbox: Sandbox) -> None:
    sandbox.sso_access_token_seconds = 600
    sandbox.sso_session_seconds = 3600
    reg, tok = sign_in(sandbox)
    assert tok["expiresIn"] == 600
    sso = portal(sandbox)
    assert sso.list_accounts(accessToken=tok["accessToken"])["accountList"]
    sandbox.clock_offset += 601
    with pytest.raises(ClientError) as info:
        sso.list_accounts(accessToken=tok["accessToken"])
    assert info.value.response["Error"]["Code"] == "UnauthorizedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401

    renewed = refresh(sandbox, reg, tok["refreshToken"])
    assert renewed["expiresIn"] == 600 and renewed["accessToken"] != tok["accessToken"]
    assert sso.list_accounts(accessToken=renewed["accessToken"])["accountList"]
    # near the session's end a new access token lives only as long as the session
    sandbox.clock_offset += 3600 - 601 - 100
    late = refresh(sandbox, reg, renewed["refreshToken"])
    assert 95 <= late["expiresIn"] <= 100
    sandbox.clock_offset += 101
    assert oidc_error(refresh, sandbox, reg, late["refreshToken"]) == (
        "InvalidGrantException",
        "invalid_grant",
        400,
    )
    assert oidc_error(refresh, sandbox, reg, "aorAAAAAGnot-a-token")[0] == "InvalidGrantException"


def test_no_refresh_token_without_registration_scopes(sandbox: Sandbox) -> None:
    _, tok = sign_in(sandbox, scopes=[])  # the legacy profile form: sign in again instead
    assert tok["accessToken"] and "refreshToken" not in tok


def test_logout_ends_the_session(sandbox: Sandbox) -> None:
    reg, tok = sign_in(sandbox)
    sso = portal(sandbox)
    sso.logout(accessToken=tok["accessToken"])
    with pytest.raises(ClientError) as info:
        sso.list_accounts(accessToken=tok["accessToken"])
    assert info.value.response["Error"]["Code"] == "UnauthorizedException"
    assert oidc_error(refresh, sandbox, reg, tok["refreshToken"])[0] == "InvalidGrantException"


# -- the portal ----------------------------------------------------------------------------------


def test_list_accounts_pages(sandbox: Sandbox, token: str) -> None:
    sso = portal(sandbox)
    first = sso.list_accounts(accessToken=token)
    assert len(first["accountList"]) == 2 and first["nextToken"]  # small default page
    one_by_one: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"accessToken": token, "maxResults": 1}
    while True:
        page = sso.list_accounts(**kwargs)
        assert len(page["accountList"]) == 1
        one_by_one += page["accountList"]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert [(a["accountId"], a["accountName"]) for a in one_by_one] == [
        ("123456789012", "Operations"),
        (PRODUCTION_ACCOUNT, "Production"),
        (STAGING_ACCOUNT, "Staging"),
        (SHARED_ACCOUNT, "SharedServices"),
    ]
    assert all(a["emailAddress"].endswith("@example.com") for a in one_by_one)
    with pytest.raises(ClientError) as info:
        sso.list_accounts(accessToken=token, nextToken="garbage")
    assert info.value.response["Error"]["Code"] == "InvalidRequestException"


def test_the_bearer_header_with_an_underscore_reaches_the_portal(
    sandbox: Sandbox, token: str
) -> None:
    url = f"{sandbox.endpoint_url}/assignment/accounts?max_result=101"
    status, text = http(url, headers={"x-amz-sso_bearer_token": token})
    assert status == 400 and "max_result" in text
    status, text = http(url.replace("101", "4"), headers={"x-amz-sso_bearer_token": token})
    assert status == 200 and "Production" in text
    status, text = http(url.replace("101", "4"))
    assert status == 401 and "Session token not found or invalid" in text


def test_list_account_roles(sandbox: Sandbox, token: str) -> None:
    sso = portal(sandbox)
    pages = sso.get_paginator("list_account_roles").paginate(
        accessToken=token, accountId=PRODUCTION_ACCOUNT
    )
    roles = [r for p in pages for r in p["roleList"]]
    assert roles == [
        {"roleName": name, "accountId": PRODUCTION_ACCOUNT}
        for name in (
            "ProductionAccess",
            "ReadOnly",
            "ProductionPermissionSet",
            "SessionManagerEndUser",
            "SessionManagerAdmin",
        )
    ]
    page = sso.list_account_roles(accessToken=token, accountId=PRODUCTION_ACCOUNT, maxResults=1)
    assert [r["roleName"] for r in page["roleList"]] == ["ProductionAccess"]
    rest = sso.list_account_roles(
        accessToken=token, accountId=PRODUCTION_ACCOUNT, nextToken=page["nextToken"], maxResults=4
    )
    assert [r["roleName"] for r in rest["roleList"]] == [r["roleName"] for r in roles[1:]]
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as info:
        sso.list_account_roles(accessToken=token, accountId="999999999999")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_role_credentials_list_their_own_accounts_nodes(sandbox: Sandbox, token: str) -> None:
    prod = role_keys(sandbox, token, PRODUCTION_ACCOUNT, "ProductionAccess")
    assert abs(prod["expiration"] / 1000 - (sandbox.state.time() + 3600)) < 5
    who = client(sandbox, "sts", creds=prod).get_caller_identity()
    match = ROLE_ARN.fullmatch(who["Arn"])
    assert match and match.groups()[:2] == (PRODUCTION_ACCOUNT, "ProductionAccess")
    assert who["Account"] == PRODUCTION_ACCOUNT
    assert names(sandbox, prod) == {
        "prod-api-01",
        "prod-api-02",
        "prod-api-03",
        "prod-orders-db-01",
        "prod-analytics-01",
        "prod-pay-gw-01",  # its just-in-time group
        "prod-pay-gw-02",
    }
    assert names(sandbox, prod, "eu-west-1") == {"prod-api-eu-01", "prod-api-eu-02"}
    staging = role_keys(sandbox, token, STAGING_ACCOUNT, "DeveloperAccess")
    assert abs(staging["expiration"] / 1000 - (sandbox.state.time() + 4 * 3600)) < 5
    assert "staging-api-01" in names(sandbox, staging) and "prod-api-01" not in names(
        sandbox, staging
    )
    shared = role_keys(sandbox, token, SHARED_ACCOUNT, "AdminAccess")
    assert "build-agent-onprem-01" in names(sandbox, shared)  # a hybrid node of that account
    # the original fleet in 123456789012 is untouched and still the base user's
    base = names(sandbox, {})
    assert "prod-db-01" in base and "prod-api-01" not in base


def test_role_credentials_refused_for_what_is_not_assigned(sandbox: Sandbox, token: str) -> None:
    sso = portal(sandbox)
    for account, role in ((STAGING_ACCOUNT, "AdminAccess"), ("999999999999", "ReadOnly")):
        with pytest.raises(ClientError) as info:
            sso.get_role_credentials(accessToken=token, accountId=account, roleName=role)
        assert info.value.response["Error"]["Code"] == "ForbiddenException"
        assert info.value.response["Error"]["Message"] == "No access"
    with pytest.raises(ClientError) as info:
        sso.get_role_credentials(
            accessToken="expired-or-never", accountId=STAGING_ACCOUNT, roleName="DeveloperAccess"
        )
    assert info.value.response["Error"]["Code"] == "UnauthorizedException"


def test_start_session_within_the_permission_sets_scope_only(sandbox: Sandbox, token: str) -> None:
    prod = role_keys(sandbox, token, PRODUCTION_ACCOUNT, "ProductionAccess")
    ssm = client(sandbox, "ssm", creds=prod)
    started = ssm.start_session(Target=instance_id(sandbox, prod, "prod-api-01"))
    assert started["SessionId"].startswith("operator@example.com-")
    ssm.terminate_session(SessionId=started["SessionId"])
    outside = instance_id(sandbox, prod, "prod-analytics-01")
    with pytest.raises(ClientError) as info:
        ssm.start_session(Target=outside)
    err = info.value.response["Error"]
    assert err["Code"] == "AccessDeniedException"
    assert err["Message"] == (
        f"User: {client(sandbox, 'sts', creds=prod).get_caller_identity()['Arn']} is not "
        f"authorized to perform: ssm:StartSession on resource: "
        f"arn:aws:ec2:us-east-1:{PRODUCTION_ACCOUNT}:instance/{outside} because no "
        "identity-based policy allows the ssm:StartSession action"
    )
    read_only = role_keys(sandbox, token, PRODUCTION_ACCOUNT, "ReadOnly")
    with pytest.raises(ClientError) as info:
        client(sandbox, "ssm", creds=read_only).start_session(
            Target=instance_id(sandbox, prod, "prod-api-01")
        )
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    # another account's node is not there for these keys, even unscoped
    admin = role_keys(sandbox, token, SHARED_ACCOUNT, "AdminAccess")
    with pytest.raises(ClientError) as info:
        client(sandbox, "ssm", creds=admin).start_session(
            Target=instance_id(sandbox, prod, "prod-api-01")
        )
    assert info.value.response["Error"]["Code"] == "TargetNotConnected"
    staging = role_keys(sandbox, token, STAGING_ACCOUNT, "DeveloperAccess")
    stg = client(sandbox, "ssm", creds=staging)
    sid = stg.start_session(Target=instance_id(sandbox, staging, "staging-api-01"))["SessionId"]
    listed = stg.describe_sessions(State="Active")["Sessions"]
    assert [s["SessionId"] for s in listed] == [sid]  # only this account's sessions
    stg.terminate_session(SessionId=sid)


def test_role_credentials_expire_on_the_sandbox_clock(sandbox: Sandbox, token: str) -> None:
    prod = role_keys(sandbox, token, PRODUCTION_ACCOUNT, "ProductionAccess")
    ssm = client(sandbox, "ssm", creds=prod)
    assert ssm.describe_instance_information()["InstanceInformationList"]
    sandbox.clock_offset += 3601
    with pytest.raises(ClientError) as info:
        ssm.describe_instance_information()
    assert info.value.response["Error"]["Code"] == "ExpiredTokenException"
    with pytest.raises(ClientError) as info:
        client(sandbox, "sts", creds=prod).get_caller_identity()
    assert info.value.response["Error"]["Code"] == "ExpiredToken"


def test_throttled_portal_answers_too_many_requests(sandbox: Sandbox, token: str) -> None:
    sandbox.throttle_rate = 1.0
    with pytest.raises(ClientError) as info:
        portal(sandbox).list_accounts(accessToken=token)
    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert sandbox.calls[("sso", "ListAccounts")] >= 1


def test_botocore_sso_profile_signs_in_from_the_cli_cache_and_refreshes(
    sandbox: Sandbox, private_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore (the AWS CLI's engine) uses Sandbox.env()'s sso-session profile as it is."""
    import boto3
    from botocore import tokens
    from botocore.utils import JSONFileCache, SSOTokenLoader

    cache = private_home / ".aws" / "sso" / "cache"
    monkeypatch.setattr(tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    sandbox.sso_access_token_seconds = 600  # inside botocore's 15-minute refresh window
    reg, tok = sign_in(sandbox)
    expires = datetime.now(UTC) + timedelta(seconds=tok["expiresIn"])
    loader = SSOTokenLoader(JSONFileCache(str(cache), dumps_func=tokens._sso_json_dumps))
    loader.save_token(
        sandbox.sso_start_url,
        {
            "startUrl": sandbox.sso_start_url,
            "region": "us-east-1",
            "accessToken": tok["accessToken"],
            "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "refreshToken": tok["refreshToken"],
            "clientId": reg["clientId"],
            "clientSecret": reg["clientSecret"],
            "registrationExpiresAt": datetime.fromtimestamp(
                reg["clientSecretExpiresAt"], UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        session_name="sandbox",
    )
    session = boto3.Session(profile_name="Staging-DeveloperAccess")
    who = session.client("sts").get_caller_identity()
    match = ROLE_ARN.fullmatch(who["Arn"])
    assert match and match.groups()[:2] == (STAGING_ACCOUNT, "DeveloperAccess")
    assert "staging-db-01" in {
        {t["Key"]: t["Value"] for t in i["Tags"]}["Name"]
        for r in session.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    cached = json.loads((cache / f"{hashlib.sha1(b'sandbox').hexdigest()}.json").read_text())
    assert cached["accessToken"] != tok["accessToken"]  # botocore refreshed it and wrote it back
    assert sandbox.calls[("sso-oidc", "CreateToken")] >= 2


def test_down_identity_center_fails_like_the_rest(sandbox: Sandbox) -> None:
    sandbox.down = True
    status, text = http(
        f"{sandbox.endpoint_url}/client/register",
        b'{"clientName": "x", "clientType": "public"}',
        {"Content-Type": "application/json"},
    )
    assert status == 503 and "ServiceUnavailable" in text
