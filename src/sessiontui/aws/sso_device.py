"""Identity Center sign-in by the OAuth device flow of sso-oidc (RFC 8628), as `aws sso login`.

RegisterClient (or the registration kept with the last token), StartDeviceAuthorization, then
CreateToken polled at the interval sso-oidc gave: `authorization_pending` waits,
`slow_down` adds 5 s to the interval, `expired_token` and `access_denied` end the attempt. The
operator is shown the verification URL and user code through `on_code`; `cancel` stops the wait
at once. The token lands in the AWS CLI's cache, so `aws` can use it as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sessiontui.aws.sso_token import (
    TokenCache,
    is_connection_error,
    oidc_error,
    unreachable,
)
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import AuthError, UsageError
from sessiontui.core.sso import DeviceCode, SsoSession, SsoToken

if TYPE_CHECKING:
    from mypy_boto3_sso_oidc import SSOOIDCClient

    from sessiontui.aws.clients import ClientFactory

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_NAME = "sessiontui"
SLOW_DOWN_STEP = 5  # RFC 8628 3.5
DEFAULT_INTERVAL = 5  # RFC 8628 3.2, when the server names none
# A registration this close to its end is not reused: the new token would outlive it.
REGISTRATION_MARGIN = timedelta(days=1)


class SignInFailed(AuthError):
    """The operator denied the code, or let it expire (exit 3). `kind` is "denied" or "expired"."""

    def __init__(self, kind: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.kind = kind


class SignInCancelled(AuthError):
    """The operator (Esc, Ctrl-C) or the app stopped the wait."""


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = ""
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"Registration(client_id={self.client_id!r}, expires_at={self.expires_at!r})"


OnCode = Callable[[DeviceCode], None]


class DeviceSignIn:
    """One sign-in for one sso-session; `run` blocks until approved, refused, expired or cancelled."""

    def __init__(
        self,
        session: SsoSession,
        factory: ClientFactory,
        cache: TokenCache | None = None,
        clock: Clock = SYSTEM_CLOCK,
        cancel: threading.Event | None = None,
    ) -> None:
        self.session = session
        self.factory = factory
        self.cache = cache if cache is not None else TokenCache()
        self.clock = clock
        self.cancel = cancel if cancel is not None else threading.Event()

    def oidc(self) -> SSOOIDCClient:
        return self.factory.unsigned_client("sso-oidc", self.session.region)

    def run(self, on_code: OnCode) -> SsoToken:
        try:
            registration = self._kept_registration() or self._register()
            try:
                device = self._start(registration)
            except _StaleRegistration:
                registration = self._register()
                device = self._start(registration)
            token = self._poll(registration, device, on_code)
        except Exception as exc:
            if is_connection_error(exc):
                raise unreachable(self.session, exc) from None
            raise
        self.cache.save(self.session, token)
        return token

    # -- registration -----------------------------------------------------------------------

    def _kept_registration(self) -> Registration | None:
        """The client registered at the last sign-in, as the AWS CLI keeps it with the token."""
        try:
            old = self.cache.load(self.session)
        except AuthError:
            return None  # unreadable or another start URL's: register anew, overwrite it
        now = self.clock.now()
        if (
            old is None
            or not (old.client_id and old.client_secret and old.registration_expires_at)
            or old.registration_expires_at - now < REGISTRATION_MARGIN
            or old.region != self.session.region
        ):
            return None
        return Registration(old.client_id, old.client_secret, old.registration_expires_at)

    def _register(self) -> Registration:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"clientName": CLIENT_NAME, "clientType": "public"}
        if not self.session.legacy:
            # the legacy form registers without scopes, and gets no refresh token (AWS CLI)
            kwargs["scopes"] = list(self.session.scopes)
        try:
            reply = self.oidc().register_client(**kwargs)
        except ClientError as exc:
            code, description = oidc_error(exc)
            if code in ("InvalidScopeException", "InvalidClientMetadataException"):
                raise UsageError(
                    f"Identity Center refused the client registration for {self.session.label} "
                    f"({code}: {description})",
                    "check sso_registration_scopes in ~/.aws/config",
                ) from None
            raise AuthError(
                f"Identity Center refused the client registration ({code}: {description})"
            ) from None
        expires = reply.get("clientSecretExpiresAt")
        return Registration(
            client_id=reply["clientId"],
            client_secret=reply["clientSecret"],
            expires_at=datetime.fromtimestamp(int(expires), self.clock.now().tzinfo)
            if expires
            else None,
        )

    # -- the device code -----------------------------------------------------------------------

    def _start(self, registration: Registration) -> tuple[DeviceCode, str]:
        """What the operator is shown, and the device code (which only we may see)."""
        from botocore.exceptions import ClientError

        try:
            reply = self.oidc().start_device_authorization(
                clientId=registration.client_id,
                clientSecret=registration.client_secret,
                startUrl=self.session.start_url,
            )
        except ClientError as exc:
            code, description = oidc_error(exc)
            if code == "InvalidClientException":
                raise _StaleRegistration() from None
            if code == "InvalidRequestException":
                raise UsageError(
                    f"Identity Center in {self.session.region} does not know the start URL "
                    f"{self.session.start_url} ({description or code})",
                    f"check sso_start_url and sso_region of {self.session.label} in ~/.aws/config",
                ) from None
            raise AuthError(
                f"Identity Center refused the sign-in ({code}: {description})"
            ) from None
        now = self.clock.now()
        shown = DeviceCode(
            verification_uri=reply["verificationUri"],
            verification_uri_complete=reply.get("verificationUriComplete")
            or reply["verificationUri"],
            user_code=reply["userCode"],
            expires_at=now.replace(microsecond=0) + timedelta(seconds=int(reply["expiresIn"])),
            interval=int(reply.get("interval") or DEFAULT_INTERVAL),
        )
        return shown, str(reply["deviceCode"])

    def _poll(
        self, registration: Registration, started: tuple[DeviceCode, str], on_code: OnCode
    ) -> SsoToken:
        from botocore.exceptions import ClientError

        device, device_code = started
        on_code(device)
        interval = device.interval
        # The server says when the code has expired; the local bound only stops a server that
        # never does from keeping us here.
        give_up = device.expires_at + timedelta(seconds=2 * interval + 5)
        while True:
            if self.cancel.wait(interval):
                raise SignInCancelled("sign-in cancelled")
            if self.clock.now() >= give_up:
                raise _expired(self.session)
            try:
                reply = self.oidc().create_token(
                    grantType=DEVICE_GRANT,
                    deviceCode=device_code,
                    clientId=registration.client_id,
                    clientSecret=registration.client_secret,
                )
            except ClientError as exc:
                code, description = oidc_error(exc)
                if code == "AuthorizationPendingException":
                    continue
                if code == "SlowDownException":
                    interval += SLOW_DOWN_STEP
                    continue
                if code == "ExpiredTokenException":
                    raise _expired(self.session) from None
                if code == "AccessDeniedException":
                    raise SignInFailed(
                        "denied",
                        f"the sign-in to Identity Center ({self.session.label}) was denied",
                        "sign in again and approve the code in the browser",
                    ) from None
                raise AuthError(
                    f"Identity Center refused the sign-in ({code}: {description})"
                ) from None
            if self.cancel.is_set():
                raise SignInCancelled("sign-in cancelled")
            now = self.clock.now()
            return SsoToken(
                start_url=self.session.start_url,
                region=self.session.region,
                access_token=reply["accessToken"],
                expires_at=now.replace(microsecond=0) + timedelta(seconds=int(reply["expiresIn"])),
                refresh_token=reply.get("refreshToken") or None,
                client_id=registration.client_id,
                client_secret=registration.client_secret,
                registration_expires_at=registration.expires_at,
            )


class _StaleRegistration(Exception):
    """The kept client registration is no longer accepted: register anew, once."""


def _expired(session: SsoSession) -> SignInFailed:
    return SignInFailed(
        "expired",
        f"the sign-in code for Identity Center ({session.label}) expired before it was approved",
        "sign in again and approve the code within its time",
    )
