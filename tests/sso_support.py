"""Identity Center against the sandbox, for its tests: boto3's sso-oidc and sso clients, the page's
form POST, and a whole sign-in."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def oidc(sb: Sandbox) -> Any:
    return client(sb, "sso-oidc")


def portal(sb: Sandbox) -> Any:
    return client(sb, "sso")


def register(sb: Sandbox, scopes: list[str] | None = None) -> dict[str, Any]:
    scopes = ["sso:account:access"] if scopes is None else scopes
    reply: dict[str, Any] = oidc(sb).register_client(
        clientName="sessiontui-test", clientType="public", scopes=scopes
    )
    return reply


def start(sb: Sandbox, reg: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = oidc(sb).start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=sb.sso_start_url
    )
    return reply


def poll(sb: Sandbox, reg: dict[str, Any], device: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = oidc(sb).create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=device["deviceCode"],
    )
    return reply


def refresh(sb: Sandbox, reg: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    reply: dict[str, Any] = oidc(sb).create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="refresh_token",
        refreshToken=refresh_token,
    )
    return reply


def oidc_error(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    """(code, the body's `error`, HTTP status) of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response: Any = info.value.response
    return (
        response["Error"]["Code"],
        response.get("error", ""),
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """(status, body text) of a plain HTTP request; error statuses are answers too."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def answer(sb: Sandbox, user_code: str, decision: str) -> tuple[int, str]:
    """What the page's form posts when the operator clicks Approve or Deny (its CSRF token
    included, as the page shows it)."""
    fields = {"user_code": user_code, "decision": decision}
    body = urlencode({**fields, "csrf": sb.device_form_token(user_code)}).encode()
    status, text = http(f"{sb.endpoint_url}/_sandbox/device", body)
    return status, text


def sign_in(sb: Sandbox, scopes: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(registration, CreateToken's answer) after an approval through the page's form."""
    reg = register(sb, scopes)
    device = start(sb, reg)
    status, _ = answer(sb, device["userCode"], "approve")
    assert status == 200
    return reg, poll(sb, reg, device)


def role_keys(sb: Sandbox, token: str, account: str, role: str) -> dict[str, Any]:
    """GetRoleCredentials, shaped like AssumeRole's Credentials for sandbox_support.client."""
    creds = portal(sb).get_role_credentials(accessToken=token, accountId=account, roleName=role)[
        "roleCredentials"
    ]
    return {
        "AccessKeyId": creds["accessKeyId"],
        "SecretAccessKey": creds["secretAccessKey"],
        "SessionToken": creds["sessionToken"],
        "expiration": creds["expiration"],
    }
