"""`--credentials ROLE` for a role the memo says is held (stores.role_memo): the fast path.

The SDKs run credential_process before every AWS call. When the memo's inputs are unchanged, the
answer is its cache file's credentials, under the rules `cached_json` applies (the cache's reuse
margin, the 15-minute refresh window, temporary credentials only): standard library only, no
config parse, no dataclasses, no platformdirs. Whatever is not plainly usable is left to the
full path, which decides again and says why when it refuses.
"""

from __future__ import annotations

import os

from sessiontui.stores import role_memo

# The SDKs refresh credential_process credentials 15 minutes before they expire (botocore's
# advisory window) and then call the command again on every use: cached credentials closer to
# their end than this are renewed ahead, when a code can be had.
REFRESH_AHEAD = 15 * 60
# aws.credcache's reuse margin (importing it would import hashlib and platformdirs; the tests hold
# the two equal): credentials this close to expiry are not handed out again
REUSE_MARGIN = 120


def usable_document(text: str, role_arn: str, now: float) -> str | None:
    """The credential_process document of a credential cache record (aws.credcache's format) for
    ROLE_ARN with at least REFRESH_AHEAD seconds left at `now` (epoch seconds), else None."""
    import json
    from datetime import UTC, datetime

    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != 1 or data.get("role_arn") != role_arn:
        return None
    key, secret, token, ends = (
        data.get(k) for k in ("access_key_id", "secret_access_key", "session_token", "expiration")
    )
    if not all(isinstance(v, str) and v for v in (key, secret, token, ends)):
        return None
    try:
        expiration = datetime.fromisoformat(str(ends))
    except ValueError:
        return None
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    left = expiration.timestamp() - now
    if left <= REUSE_MARGIN or left < REFRESH_AHEAD:
        return None
    stamp = expiration.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": key,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": stamp,
        }
    )


def recalled_json(role: str) -> str | None:
    """ROLE's document when the memo's inputs are unchanged and its cache file is usable."""
    import time

    found = role_memo.recall(role)
    if found is None:
        return None
    role_arn, cache_file = found
    try:
        fd = os.open(cache_file, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            text = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return usable_document(text, role_arn, time.time())
