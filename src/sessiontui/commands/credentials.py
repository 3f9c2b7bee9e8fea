"""`sessiontui --credentials ROLE`: a role's credentials for other tools.

The AWS CLI, Terraform and the SDKs run a `credential_process` command and read one JSON
document from its stdout (Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration).
The credentials come from the same access book (private cache, MFA rules) as the TUI's and
--connect's, so a role assumed in one is reused by the others until it expires.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING

from sessiontui.commands.held_credentials import REFRESH_AHEAD
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import AuthError

if TYPE_CHECKING:
    from pathlib import Path

    from sessiontui.core.credentials import Credentials
    from sessiontui.runtime import AskCode, OnWait, Runtime


def seconds_left(creds: Credentials, clock: Clock) -> float | None:
    """How long these credentials last; None for long-lived keys (which are not handed out)."""
    if creds.expiration is None:
        return None
    return (creds.expiration - clock.now()).total_seconds()


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
    left = seconds_left(creds, rt.clock)
    if not refresh_ahead or left is None or left >= refresh_ahead:
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


def cached_json(
    name: str,
    *,
    profile: str | None = None,
    region_given: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> str | None:
    """The document of IAM role NAME when its credentials are cached, read without `Runtime`.

    The SDKs run credential_process before every AWS call, so a held role must answer in about
    the time of Python's start: no boto3, no access book, no audit log; only the config, the
    AWS files that name the base key, and the cache file. The decision is the access book's:
    the same role (config and ~/.aws/config roles come first there), the same cache key (the
    role's source profile, else --profile or the config's; the base key id), the same reuse
    margin and refresh window. None whenever more than the cache is needed (a role of another
    source, a base key only botocore can resolve, nothing usable cached, renewal due): the full
    path then decides, and says why when it refuses. `profile` is --profile; `region_given`,
    whether --region was. --duration and --demo always take the full path (the caller's part).

    An answer to the bare `--credentials ROLE` leaves a memo (stores.role_memo) with which the
    next call skips all of this while its inputs stay the same (commands.held_credentials).
    """
    from sessiontui.aws.clients import env_region, profile_region
    from sessiontui.aws.credcache import CredentialCache
    from sessiontui.aws_profiles import static_access_key_id
    from sessiontui.config import load_config

    config = load_config()
    spec = config.roles.get(name)
    if spec is None:
        return None
    base = profile or config.profile or None
    # Runtime.open refuses a run with no region; botocore's session may still find one
    if not (region_given or config.regions or env_region() or profile_region(base)):
        return None
    source = spec.source_profile if spec.source_profile is not None else base
    key_id = static_access_key_id(source)
    if key_id is None:
        return None
    cache = CredentialCache(clock=clock)
    creds = cache.get(spec.arn, spec.source_profile, key_id)
    if creds is None or not creds.session_token:
        return None
    left = seconds_left(creds, clock)
    if left is None or left < REFRESH_AHEAD:
        return None
    if profile is None and not region_given:
        _remember(name, spec.arn, cache.path_for(spec.arn, spec.source_profile, key_id))
    return json.dumps(document(creds))


def _remember(name: str, role_arn: str, cache_file: Path) -> None:
    """The memo for the next bare `--credentials NAME`; this answer stands without it."""
    import time

    from sessiontui.stores import paths, role_memo

    files = [paths.config_file(), paths.aws_config_file(), paths.aws_credentials_file()]
    with contextlib.suppress(OSError):
        role_memo.remember(
            name,
            role_arn,
            str(cache_file),
            [str(f) for f in files],
            now=time.time(),
            expected=str(paths.credentials_dir()),
        )
