"""Identity Center's portal API (`sso`): the accounts and permission sets a signed-in user has, and
GetRoleCredentials. Calls are unsigned and carry the access token; the client is passed in.

The listing is cached privately (0600 in a 0700 folder) with the time it was made, so the role
picker has it at once and says how old it is; the credentials are cached by the caller.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import AuthError
from sessiontui.stores import paths

if TYPE_CHECKING:
    from mypy_boto3_sso import SSOClient

P = ParamSpec("P")
R = TypeVar("R")

VERSION = 1


@dataclass(frozen=True)
class PortalAccount:
    account_id: str
    name: str
    email: str = ""
    permission_sets: tuple[str, ...] = ()


class TokenRejected(AuthError):
    """The portal refused the access token (expired, signed out): refresh, or sign in again."""


def _code(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code", "")), str(error.get("Message", "") or response.get("message", ""))


def _call(method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    from botocore.exceptions import ClientError

    try:
        return method(*args, **kwargs)
    except ClientError as exc:
        code, message = _code(exc)
        if code == "UnauthorizedException":
            raise TokenRejected(
                f"Identity Center refused the sign-in token ({message or code})"
            ) from None
        raise AuthError(f"Identity Center portal: {code}: {message}") from None


def list_accounts(sso: SSOClient, access_token: str) -> list[PortalAccount]:
    """Every account and its permission sets, paged as the portal pages them."""
    accounts: list[PortalAccount] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"accessToken": access_token, "maxResults": 100}
        if token:
            kwargs["nextToken"] = token
        page = _call(sso.list_accounts, **kwargs)
        for item in page.get("accountList", []):
            account_id = str(item["accountId"])
            accounts.append(
                PortalAccount(
                    account_id,
                    str(item.get("accountName") or account_id),
                    str(item.get("emailAddress") or ""),
                    tuple(list_account_roles(sso, access_token, account_id)),
                )
            )
        token = page.get("nextToken")
        if not token:
            return sorted(accounts, key=lambda a: a.name.casefold())


def list_account_roles(sso: SSOClient, access_token: str, account_id: str) -> list[str]:
    names: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "accessToken": access_token,
            "accountId": account_id,
            "maxResults": 100,
        }
        if token:
            kwargs["nextToken"] = token
        page = _call(sso.list_account_roles, **kwargs)
        names += [str(r["roleName"]) for r in page.get("roleList", [])]
        token = page.get("nextToken")
        if not token:
            return names


def role_credentials(
    sso: SSOClient, access_token: str, account_id: str, permission_set: str, name: str
) -> Credentials:
    """GetRoleCredentials; their expiration is the permission set's session duration."""
    reply = _call(
        sso.get_role_credentials,
        accessToken=access_token,
        accountId=account_id,
        roleName=permission_set,
    )["roleCredentials"]
    return Credentials(
        access_key_id=str(reply["accessKeyId"]),
        secret_access_key=str(reply["secretAccessKey"]),
        session_token=str(reply["sessionToken"]),
        expiration=datetime.fromtimestamp(int(reply["expiration"]) / 1000, UTC),
        role_name=name,
        role_arn=permission_set_key(account_id, permission_set),
    )


def permission_set_key(account_id: str, permission_set: str) -> str:
    """What the credential cache keys an Identity Center role by (ARN-shaped: account in field 5)."""
    return f"arn:aws:sso::{account_id}:permissionSet/{permission_set}"


class PortalCache:
    """The last listing for one start URL: accounts, permission sets, and when it was made."""

    def __init__(self, start_url: str, folder: Path | None = None) -> None:
        folder = folder if folder is not None else paths.cache_dir() / "identity-center"
        digest = hashlib.sha256(start_url.encode()).hexdigest()[:24]
        self.start_url = start_url
        self.path = folder / f"{digest}.accounts.json"

    def load(self) -> tuple[list[PortalAccount], float] | None:
        """(accounts, age in seconds), or None when missing, unreadable or another start URL's."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION or data.get("start_url") != self.start_url:
                return None
            accounts = [
                PortalAccount(
                    str(a["id"]), str(a["name"]), str(a.get("email", "")), tuple(a["roles"])
                )
                for a in data["accounts"]
            ]
            return accounts, max(0.0, time.time() - float(data["saved_at"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, accounts: list[PortalAccount]) -> None:
        payload = {
            "version": VERSION,
            "start_url": self.start_url,
            "saved_at": time.time(),
            "accounts": [
                {"id": a.account_id, "name": a.name, "email": a.email, "roles": a.permission_sets}
                for a in accounts
            ],
        }
        paths.write_private(self.path, json.dumps(payload, indent=1) + "\n")

    def forget(self) -> int:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return 0
        return 1
