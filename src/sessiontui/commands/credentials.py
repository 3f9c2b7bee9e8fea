"""`sessiontui --credentials ROLE`: a role's credentials for other tools.

The AWS CLI, Terraform and the SDKs run a `credential_process` command and read one JSON
document from its stdout (Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration).
The credentials come from the same access book (private cache, MFA rules) as the TUI's and
--connect's, so a role assumed in one is reused by the others until it expires.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING

from sessiontui.core.errors import AuthError

if TYPE_CHECKING:
    from sessiontui.core.credentials import Credentials
    from sessiontui.runtime import AskCode, OnWait, Runtime


# The SDKs refresh credential_process credentials 15 minutes before they expire (botocore's
# advisory window) and then call the command again on every use: cached credentials closer to
# their end than this are renewed ahead, when a code can be had.
REFRESH_AHEAD = 15 * 60


def role_credentials(
    rt: Runtime,
    name: str,
    *,
    ask: AskCode | None = None,
    on_wait: OnWait | None = None,
    refresh_ahead: float = 0,
    warn: Callable[[str], None] | None = None,
) -> Credentials:
    """The credentials of role NAME, from whichever source of access offers it (the access
    book: IAM roles with MFA, and the sources added there), held or newly obtained.

    With `refresh_ahead`, held credentials with less time left are replaced by new ones; if
    that fails (no MFA code can be had now), the held ones, still valid, are handed out."""
    from sessiontui.access import Prompts
    from sessiontui.core.durations import parse_duration

    book = rt.access_book
    offer = book.find(name)
    duration = parse_duration(rt.args.duration) if rt.args.duration else None
    prompts = Prompts(typed_code=rt.args.mfa_code, ask_code=ask, on_wait=on_wait)
    held = book.cached(offer) if duration is None else None
    if held is None:
        return book.obtain(offer, duration, prompts).credentials
    creds = held.credentials
    if not refresh_ahead or creds.expiration is None:
        return creds
    left = (creds.expiration - rt.clock.now()).total_seconds()
    if left >= refresh_ahead:
        return creds
    try:
        return book.obtain(offer, held.duration, prompts).credentials
    except AuthError as exc:
        # nobody to give a code now: the SDK asks again before these run out
        if warn is not None:
            warn(f"kept credentials with {int(left)}s left; renewing them failed: {exc.message}")
        return creds


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
    rt: Runtime,
    name: str,
    *,
    ask: AskCode | None = None,
    on_wait: OnWait | None = None,
    warn: Callable[[str], None] | None = None,
) -> str:
    creds = role_credentials(
        rt, name, ask=ask, on_wait=on_wait, refresh_ahead=REFRESH_AHEAD, warn=warn
    )
    return json.dumps(document(creds))
