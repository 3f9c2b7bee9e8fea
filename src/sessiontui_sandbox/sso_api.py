"""IAM Identity Center's portal API (sso), as moto 5.2 lacks it: ListAccounts, ListAccountRoles,
GetRoleCredentials and Logout, rest-json, authenticated by the `x-amz-sso_bearer_token` header.

GetRoleCredentials issues keys the sandbox records like STS's (state.IssuedKey) in that account,
with the permission set's tag scope, so they work against the sandbox's SSM, EC2 and STS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from sessiontui_sandbox.sso_directory import (
    IdentityCenter,
    RestError,
    reserved_role_name,
)

if TYPE_CHECKING:
    from sessiontui_sandbox.state import SandboxState

ROUTES = {
    ("GET", "/assignment/accounts"): "ListAccounts",
    ("GET", "/assignment/roles"): "ListAccountRoles",
    ("GET", "/federation/credentials"): "GetRoleCredentials",
    ("POST", "/logout"): "Logout",
}
DEFAULT_PAGE = 2  # small on purpose: a client that forgets to page is caught at once
ACCOUNT_ID = re.compile(r"\d{12}")
# The environ key the request handler stores the bearer token under: werkzeug drops headers whose
# names hold an underscore, so it never becomes HTTP_*.
BEARER_ENVIRON_KEY = "sessiontui.sso_bearer_token"
BEARER_HEADER = "x-amz-sso_bearer_token"


def portal_error(code: str, message: str) -> RestError:
    status = {
        "UnauthorizedException": 401,
        "ForbiddenException": 403,
        "ResourceNotFoundException": 404,
        "TooManyRequestsException": 429,
    }.get(code, 400)
    return RestError(code, status, {"message": message})


def unauthorized() -> RestError:
    return portal_error("UnauthorizedException", "Session token not found or invalid")


def route(method: str, path: str) -> str | None:
    return ROUTES.get((method, path.rstrip("/") or "/"))


class PortalRequest:
    def __init__(self, state: SandboxState, user: str, query: str) -> None:
        self.state = state
        self.ic: IdentityCenter = state.identity_center
        self.user = user
        self.query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def account_id(self) -> str:
        value = self.query.get("account_id", "")
        if not ACCOUNT_ID.fullmatch(value):
            raise portal_error("InvalidRequestException", "Invalid account id")
        return value


def _page(req: PortalRequest, items: list[dict[str, Any]], what: str) -> tuple[list[Any], str]:
    raw_max = req.query.get("max_result")
    limit = DEFAULT_PAGE
    if raw_max is not None:
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= 100:
            raise portal_error("InvalidRequestException", "Invalid max_result: between 1 and 100")
        limit = int(raw_max)
    digest = hashlib.sha256(f"{what}/{req.user}".encode()).hexdigest()[:12]
    offset = 0
    token = req.query.get("next_token")
    if token is not None:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            offset = int(data["o"])
            valid = data.get("q") == digest and data.get("n") == req.state.nonce and offset >= 0
        except (ValueError, KeyError, TypeError, binascii.Error):
            valid = False
        if not valid:
            raise portal_error("InvalidRequestException", "Invalid next token")
    page = items[offset : offset + limit]
    following = ""
    if offset + limit < len(items):
        raw = json.dumps({"o": offset + limit, "q": digest, "n": req.state.nonce}).encode()
        following = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return page, following


def list_accounts(req: PortalRequest) -> dict[str, Any]:
    rows = [
        {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
        for a in req.ic.accounts_of(req.user)
    ]
    page, following = _page(req, rows, "accounts")
    out: dict[str, Any] = {"accountList": page}
    if following:
        out["nextToken"] = following
    return out


def list_account_roles(req: PortalRequest) -> dict[str, Any]:
    account_id = req.account_id()
    sets = req.ic.permission_sets(req.user, account_id)
    if not sets:
        raise portal_error("ResourceNotFoundException", "Account not found")
    rows = [{"roleName": p.name, "accountId": account_id} for p in sets]
    page, following = _page(req, rows, f"roles/{account_id}")
    out: dict[str, Any] = {"roleList": page}
    if following:
        out["nextToken"] = following
    return out


def get_role_credentials(req: PortalRequest) -> dict[str, Any]:
    from sessiontui_sandbox import sts_api

    role_name = req.query.get("role_name", "")
    if not role_name:
        raise portal_error("InvalidRequestException", "Invalid role name")
    account_id = req.account_id()
    permission_set = req.ic.permission_set(req.user, account_id, role_name)
    if permission_set is None:
        # what AWS answers for an account or permission set the user is not assigned to
        raise portal_error("ForbiddenException", "No access")
    reserved = reserved_role_name(account_id, permission_set.name)
    role_id = "AROA" + hashlib.sha256(reserved.encode()).hexdigest()[:17].upper()
    key = sts_api.issue_key(
        req.state,
        f"arn:aws:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/{reserved}",
        req.user,
        permission_set.session_seconds,
        False,
        role_name=reserved,
        role_id=role_id,
        account=account_id,
        policies=permission_set.policies,
    )
    return {
        "roleCredentials": {
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret_access_key,
            "sessionToken": key.session_token,
            "expiration": int(key.expiration.timestamp() * 1000),
        }
    }


def logout(req: PortalRequest, access_token: str) -> dict[str, Any]:
    req.ic.logout(access_token)
    return {}


_HANDLERS: dict[str, Callable[[PortalRequest], dict[str, Any]]] = {
    "ListAccounts": list_accounts,
    "ListAccountRoles": list_account_roles,
    "GetRoleCredentials": get_role_credentials,
}


def handle(state: SandboxState, operation: str, access_token: str, query: str) -> dict[str, Any]:
    """One portal operation; raises RestError for AWS's error replies."""
    ic: IdentityCenter = state.identity_center
    user = ic.user_of(access_token, state.time()) if access_token else None
    if user is None:
        raise unauthorized()
    req = PortalRequest(state, user, query)
    if operation == "Logout":
        return logout(req, access_token)
    return _HANDLERS[operation](req)
