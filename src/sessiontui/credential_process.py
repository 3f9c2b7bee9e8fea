"""`sessiontui --credentials ROLE`: a role's credentials for other tools.

The AWS CLI, Terraform and the SDKs run a `credential_process` command and read one JSON
document from its stdout (Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration).
The credentials come from the same private cache and under the same MFA rules as the TUI, so a
role assumed in one is reused by the others until it expires.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import TYPE_CHECKING

from sessiontui.core.errors import AuthError

if TYPE_CHECKING:
    from sessiontui.core.credentials import Credentials
    from sessiontui.runtime import AskCode, OnWait, Runtime


def role_credentials(
    rt: Runtime, name: str, *, ask: AskCode | None = None, on_wait: OnWait | None = None
) -> Credentials:
    """The credentials of role NAME: the one place that knows where a role's keys come from
    (a JIT role assumed with MFA today), so other kinds of role change only this."""
    return rt.assume_role(name, ask=ask, on_wait=on_wait).credentials


def document(creds: Credentials) -> dict[str, object]:
    """The credential_process document; Expiration in ISO 8601 UTC, as botocore parses it."""
    if not creds.session_token or creds.expiration is None:
        # only temporary credentials are handed out: long-lived keys belong in the tool's own
        # config, not behind a JIT role
        raise AuthError(f"role {creds.role_name or '?'} gave no temporary credentials")
    expiration = creds.expiration.astimezone(UTC).replace(microsecond=0)
    return {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": expiration.isoformat().replace("+00:00", "Z"),
    }


def credentials_json(
    rt: Runtime, name: str, *, ask: AskCode | None = None, on_wait: OnWait | None = None
) -> str:
    return json.dumps(document(role_credentials(rt, name, ask=ask, on_wait=on_wait)))
