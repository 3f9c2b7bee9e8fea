"""Identity Center tokens in the AWS CLI's own cache (~/.aws/sso/cache), refreshed before they end.

A sign-in in either tool serves the other, so the file is botocore's: its JSONFileCache writes it
and its SSOTokenLoader names and validates it (sha1 of the sso-session's name, or of the start URL
for a legacy profile). Ours only adds privacy (0600 in a 0700 folder) and the reasons, in words,
why a token cannot be used. The refresh is botocore's SSOTokenProvider's (CreateToken with the
refresh_token grant, the registration kept beside the token), made with a client passed in rather
than one botocore builds, and with a refusal that leads back to sign-in instead of a stale token.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import AuthError
from sessiontui.core.sso import SsoSession, SsoToken, parse_time
from sessiontui.stores import paths

if TYPE_CHECKING:
    from botocore.utils import JSONFileCache, SSOTokenLoader
    from mypy_boto3_sso_oidc import SSOOIDCClient

    from sessiontui.aws.clients import ClientFactory

# botocore's SSOTokenProvider refreshes in the last 15 minutes, at most once a minute; so do we.
REFRESH_WINDOW = 15 * 60
REFRESH_AT_MOST_EVERY = 60
REFRESH_GRANT = "refresh_token"


def sign_in_hint(session: SsoSession) -> str:
    if session.legacy:
        return "sign in with `sessiontui --sso-login` or `aws sso login`"
    return (
        f"sign in with `sessiontui --sso-login {session.name}` "
        f"or `aws sso login --sso-session {session.name}`"
    )


class SignInRequired(AuthError):
    """No usable token: none cached, unreadable, expired without refresh, or refresh refused."""

    def __init__(self, session: SsoSession, reason: str) -> None:
        super().__init__(f"Identity Center ({session.label}): {reason}", sign_in_hint(session))
        self.session = session
        self.reason = reason


class IdentityCenterUnreachable(AuthError):
    """sso-oidc (or the portal) did not answer: network, region or endpoint."""


def oidc_error(exc: Exception) -> tuple[str, str]:
    """(error code, description) of a ClientError from sso-oidc or sso; ("", text) otherwise.

    sso-oidc answers with RFC 6749/8628 words (`authorization_pending`, `slow_down`, ...) in the
    body beside the exception's name; either is accepted.
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", str(exc)
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    word = str(response.get("error", "") or "")
    description = str(response.get("error_description", "") or error.get("Message", "") or "")
    names = {
        "authorization_pending": "AuthorizationPendingException",
        "slow_down": "SlowDownException",
        "expired_token": "ExpiredTokenException",
        "access_denied": "AccessDeniedException",
        "invalid_grant": "InvalidGrantException",
        "invalid_client": "InvalidClientException",
        "invalid_request": "InvalidRequestException",
    }
    return (code or names.get(word, word)), description


def is_connection_error(exc: Exception) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, BotoConnectionError | HTTPClientError)


def unreachable(session: SsoSession, exc: Exception) -> IdentityCenterUnreachable:
    return IdentityCenterUnreachable(
        f"Identity Center in {session.region} did not answer ({type(exc).__name__})",
        f"check sso_region and sso_start_url of {session.label}, and the network",
    )


def _private_cache(folder: Path) -> JSONFileCache:
    """botocore's JSONFileCache, with the folder made 0700 before each write (files are 0600:
    JSONFileCache writes through mkstemp and os.replace)."""
    from botocore.utils import JSONFileCache

    class PrivateJSONFileCache(JSONFileCache):
        def __setitem__(self, cache_key: str, value: object) -> None:
            paths.ensure_private_dir(folder)
            super().__setitem__(cache_key, value)

    return PrivateJSONFileCache(str(folder))


class TokenCache:
    """The AWS CLI's SSO token cache, read and written with botocore's loader."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else paths.aws_sso_cache_dir()

    @functools.cached_property
    def _cache(self) -> JSONFileCache:
        # made on first use: botocore.utils costs ~80 ms to import, and a run that holds only an
        # IAM role (a cached role's --credentials, say) never reads the sign-in
        return _private_cache(self.folder)

    def path(self, session: SsoSession) -> Path:
        return self.folder / f"{session.cache_key}.json"

    def _loader(self) -> SSOTokenLoader:
        from botocore.utils import SSOTokenLoader

        return SSOTokenLoader(cache=self._cache)

    def load(self, session: SsoSession) -> SsoToken | None:
        """The cached token for this session; None when there is none.

        SignInRequired when the file is there but cannot serve: corrupt, or another start URL's.
        The file is left as it is (a new sign-in replaces it atomically).
        """
        from botocore.exceptions import SSOTokenLoadError

        file = self.path(session)
        if not file.exists():
            return None
        try:
            raw = self._loader()(session.start_url, session_name=session.session_name)
        except (SSOTokenLoadError, KeyError, TypeError):  # KeyError: JSONFileCache's "not JSON"
            raise SignInRequired(
                session, f"the cached token {file} is unreadable (not the AWS CLI's format)"
            ) from None
        try:
            token = _from_cache(raw, session)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SignInRequired(
                session, f"the cached token {file} is unreadable (a field is missing or wrong)"
            ) from None
        if token.start_url.rstrip("/") != session.start_url.rstrip("/"):
            raise SignInRequired(
                session,
                f"the cached token {file} is for another start URL ({token.start_url})",
            )
        return token

    def save(self, session: SsoSession, token: SsoToken) -> Path:
        self._loader().save_token(
            session.start_url,
            token.to_cache(),  # type: ignore[arg-type]  # the stubs say str; botocore keeps a dict
            session_name=session.session_name,
        )
        return self.path(session)


def _from_cache(raw: dict[str, Any], session: SsoSession) -> SsoToken:
    registration = raw.get("registrationExpiresAt")
    return SsoToken(
        start_url=str(raw.get("startUrl") or session.start_url),
        region=str(raw.get("region") or session.region),
        access_token=str(raw["accessToken"]),
        expires_at=parse_time(str(raw["expiresAt"])),
        refresh_token=raw.get("refreshToken") or None,
        client_id=raw.get("clientId") or None,
        client_secret=raw.get("clientSecret") or None,
        registration_expires_at=parse_time(str(registration)) if registration else None,
    )


class TokenSource:
    """A usable access token for one sso-session: cached, refreshed, or SignInRequired."""

    def __init__(
        self,
        session: SsoSession,
        factory: ClientFactory,
        cache: TokenCache | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.session = session
        self.factory = factory
        self.cache = cache if cache is not None else TokenCache()
        self.clock = clock
        self._refreshed_at: datetime | None = None

    def oidc(self) -> SSOOIDCClient:
        return self.factory.unsigned_client("sso-oidc", self.session.region)

    def token(self, window: float = REFRESH_WINDOW) -> SsoToken:
        """A token with more than `window` seconds left when it can be refreshed, else any valid
        one; SignInRequired (exit 3) when none is to be had without the operator."""
        token = self.cache.load(self.session)
        now = self.clock.now()
        if token is None:
            raise SignInRequired(self.session, "not signed in (no cached token)")
        if token.seconds_left(now) >= window:
            return token
        recently = self._refreshed_at is not None and (
            (now - self._refreshed_at).total_seconds() < REFRESH_AT_MOST_EVERY
        )
        if recently and token.seconds_left(now) > 0:
            return token  # a token this short-lived is what Identity Center gives now
        if token.can_refresh(now):
            try:
                return self.refresh(token)
            except SignInRequired:
                if token.seconds_left(now) > 0:
                    return token  # still good for a while; the next call tries again
                raise
        if token.seconds_left(now) > 0:
            return token
        raise SignInRequired(
            self.session,
            f"the token expired at {_hm(token.expires_at)} and cannot be refreshed",
        )

    def refresh(self, token: SsoToken) -> SsoToken:
        """A new access token from the refresh token, saved; SignInRequired if refused."""
        from botocore.exceptions import ClientError

        now = self.clock.now()
        client_id, secret, refresh = token.client_id, token.client_secret, token.refresh_token
        # can_refresh checks these three too; naming them again lets the type checker see it
        if not token.can_refresh(now) or not (client_id and secret and refresh):
            raise SignInRequired(self.session, "the token cannot be refreshed")
        try:
            reply = self.oidc().create_token(
                grantType=REFRESH_GRANT,
                clientId=client_id,
                clientSecret=secret,
                refreshToken=refresh,
            )
        except ClientError as exc:
            code, description = oidc_error(exc)
            raise SignInRequired(
                self.session,
                f"Identity Center refused to refresh the token ({code}: {description})"
                if description
                else f"Identity Center refused to refresh the token ({code})",
            ) from None
        except Exception as exc:
            if is_connection_error(exc):
                raise unreachable(self.session, exc) from None
            raise
        fresh = SsoToken(
            start_url=self.session.start_url,
            region=self.session.region,
            access_token=reply["accessToken"],
            expires_at=now.replace(microsecond=0) + timedelta(seconds=int(reply["expiresIn"])),
            refresh_token=reply.get("refreshToken") or token.refresh_token,
            client_id=token.client_id,
            client_secret=token.client_secret,
            registration_expires_at=token.registration_expires_at,
        )
        self.cache.save(self.session, fresh)
        self._refreshed_at = now
        return fresh


def _hm(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")
