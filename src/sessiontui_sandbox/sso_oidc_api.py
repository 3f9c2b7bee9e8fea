"""IAM Identity Center OIDC (sso-oidc), as moto 5.2 lacks it: RegisterClient,
StartDeviceAuthorization and CreateToken (device code and refresh token grants), rest-json.

The operations are unsigned in AWS (auth type "none"), so they are recognised by method and path.
Errors follow the model: HTTP 400 (401 for InvalidClientException), the code in x-amzn-ErrorType,
and the body's `error` / `error_description` as RFC 6749 and RFC 8628 name them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sessiontui_sandbox.sso_directory import (
    DEVICE_GRANT,
    DEVICE_PATH,
    REFRESH_GRANT,
    SLOW_DOWN_STEP,
    IdentityCenter,
    RestError,
)

ROUTES = {
    ("POST", "/client/register"): "RegisterClient",
    ("POST", "/device_authorization"): "StartDeviceAuthorization",
    ("POST", "/token"): "CreateToken",
}
# Identity Center's own scopes, and the OIDC ones it also takes.
SCOPE = re.compile(r"(sso|sso-portal|codewhisperer|q|aws|openid|offline_access)(:[\w.*-]+)*")
POLL_TOLERANCE = 0.1  # a client that sleeps exactly `interval` between polls is not too fast

_CODES = {
    "InvalidRequestException": ("invalid_request", 400),
    "InvalidClientException": ("invalid_client", 401),
    "InvalidGrantException": ("invalid_grant", 400),
    "UnsupportedGrantTypeException": ("unsupported_grant_type", 400),
    "InvalidScopeException": ("invalid_scope", 400),
    "InvalidClientMetadataException": ("invalid_client_metadata", 400),
    "AuthorizationPendingException": ("authorization_pending", 400),
    "SlowDownException": ("slow_down", 400),
    "AccessDeniedException": ("access_denied", 400),
    "ExpiredTokenException": ("expired_token", 400),
}


def oidc_error(code: str, description: str) -> RestError:
    error, status = _CODES[code]
    return RestError(code, status, {"error": error, "error_description": description})


def route(method: str, path: str) -> str | None:
    return ROUTES.get((method, path.rstrip("/") or "/"))


def _params(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise oidc_error("InvalidRequestException", "Invalid request body") from None
    if not isinstance(data, dict):
        raise oidc_error("InvalidRequestException", "Invalid request body")
    return data


def _required(params: dict[str, Any], *names: str) -> None:
    for name in names:
        value = params.get(name)
        if not isinstance(value, str) or not value:
            raise oidc_error("InvalidRequestException", f"Missing required parameter: {name}")


def register_client(ic: IdentityCenter, params: dict[str, Any], now: float) -> dict[str, Any]:
    _required(params, "clientName", "clientType")
    if params["clientType"] != "public":
        raise oidc_error("InvalidClientMetadataException", "Invalid client type")
    scopes = params.get("scopes") or []
    if not isinstance(scopes, list) or not all(
        isinstance(s, str) and SCOPE.fullmatch(s) for s in scopes
    ):
        raise oidc_error("InvalidScopeException", "Invalid scope requested")
    grants = params.get("grantTypes") or []
    if any(g not in (DEVICE_GRANT, REFRESH_GRANT, "authorization_code") for g in grants):
        raise oidc_error("UnsupportedGrantTypeException", "Unsupported grant type")
    client = ic.register(str(params["clientName"]), scopes, now)
    return {
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "clientIdIssuedAt": client.issued_at,
        "clientSecretExpiresAt": client.secret_expires_at,
    }


def start_device_authorization(
    ic: IdentityCenter, params: dict[str, Any], now: float, endpoint_url: str
) -> dict[str, Any]:
    _required(params, "clientId", "clientSecret", "startUrl")
    client = ic.client(params["clientId"], params["clientSecret"], now)
    if client is None:
        raise oidc_error("InvalidClientException", "Invalid client provided")
    if params["startUrl"].rstrip("/") != ic.start_url.rstrip("/"):
        raise oidc_error("InvalidRequestException", "Invalid start url provided")
    device = ic.start_device(client.client_id, params["startUrl"], now)
    page = f"{endpoint_url}{DEVICE_PATH}"
    return {
        "deviceCode": device.device_code,
        "userCode": device.user_code,
        "verificationUri": page,
        "verificationUriComplete": f"{page}?user_code={device.user_code}",
        "expiresIn": int(device.expires_at - now),
        "interval": device.interval,
    }


def _token_reply(ic: IdentityCenter, access_token: str, now: float) -> dict[str, Any]:
    token = ic.tokens[access_token]
    out: dict[str, Any] = {
        "accessToken": token.access_token,
        "tokenType": "Bearer",
        "expiresIn": max(0, int(token.expires_at - now)),
    }
    if token.refresh_token is not None:
        out["refreshToken"] = token.refresh_token
    return out


def _device_grant(
    ic: IdentityCenter, client_id: str, params: dict[str, Any], now: float
) -> dict[str, Any]:
    _required(params, "deviceCode")
    with ic.lock:
        device = ic.devices.get(params["deviceCode"])
        if device is None or device.client_id != client_id or device.status == "used":
            raise oidc_error("InvalidGrantException", "Invalid grant provided")
        if now >= device.expires_at:
            raise oidc_error("ExpiredTokenException", "Device code has expired")
        if device.status == "denied":
            raise oidc_error("AccessDeniedException", "Access denied")
        if device.status == "pending":
            last, device.last_poll = device.last_poll, now
            if last is not None and now - last < device.interval - POLL_TOLERANCE:
                device.interval += SLOW_DOWN_STEP
                raise oidc_error("SlowDownException", "Client is polling too fast")
            raise oidc_error("AuthorizationPendingException", "Authorization is still pending")
        device.status = "used"
        client = ic.clients[client_id]
        token = ic.issue_token(client, device.user, now, now + ic.session_seconds)
        return _token_reply(ic, token.access_token, now)


def _refresh_grant(
    ic: IdentityCenter, client_id: str, params: dict[str, Any], now: float
) -> dict[str, Any]:
    _required(params, "refreshToken")
    with ic.lock:
        old = ic.refresh_tokens.get(params["refreshToken"])
        if old is None or old.client_id != client_id:
            raise oidc_error("InvalidGrantException", "Invalid refresh token provided")
        if old.logged_out or now >= old.session_ends_at:
            # the Identity Center session is over: only a new sign-in helps
            raise oidc_error("InvalidGrantException", "Refresh token has expired")
        client = ic.clients[client_id]
        token = ic.issue_token(client, old.user, now, old.session_ends_at)
        return _token_reply(ic, token.access_token, now)


def create_token(ic: IdentityCenter, params: dict[str, Any], now: float) -> dict[str, Any]:
    _required(params, "clientId", "clientSecret", "grantType")
    client = ic.client(params["clientId"], params["clientSecret"], now)
    if client is None:
        raise oidc_error("InvalidClientException", "Invalid client provided")
    grant = params["grantType"]
    if grant == DEVICE_GRANT:
        return _device_grant(ic, client.client_id, params, now)
    if grant == REFRESH_GRANT:
        return _refresh_grant(ic, client.client_id, params, now)
    raise oidc_error("UnsupportedGrantTypeException", f"Unsupported grant type: {grant}")


def handle(
    ic: IdentityCenter, operation: str, body: bytes, now: float, endpoint_url: str
) -> dict[str, Any]:
    """One sso-oidc operation; raises RestError for AWS's error replies."""
    params = _params(body)
    if operation == "RegisterClient":
        return register_client(ic, params, now)
    if operation == "StartDeviceAuthorization":
        return start_device_authorization(ic, params, now, endpoint_url)
    return create_token(ic, params, now)
