"""Identity Center (AWS SSO) as ~/.aws/config describes it, and the token a sign-in yields.

Pure: what `aws_profiles` reads and what `aws.sso_token` caches are these shapes. The cache file's
name is the AWS CLI's (botocore's SSOTokenLoader): sha1 of the sso-session's name, or of the start
URL for a legacy profile that names its start URL itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

# What `aws configure sso` registers for when sso_registration_scopes is absent.
DEFAULT_SCOPES = ("sso:account:access",)
CACHE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # botocore's _sso_json_dumps and the AWS CLI v2


@dataclass(frozen=True)
class SsoSession:
    """Where to sign in: an `[sso-session NAME]`, or a legacy profile's own start URL."""

    name: str  # the sso-session's name; for a legacy profile, "profile NAME"
    start_url: str
    region: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    legacy: bool = False  # the start URL sits in the profile (no sso-session, no refresh)

    @property
    def session_name(self) -> str | None:
        """What the AWS CLI keys the token cache by, beside the start URL."""
        return None if self.legacy else self.name

    @property
    def cache_key(self) -> str:
        return hashlib.sha1((self.session_name or self.start_url).encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        return self.name if not self.legacy else f"{self.name} ({self.start_url})"


@dataclass(frozen=True)
class SsoProfile:
    """A ~/.aws/config profile that takes a role through Identity Center."""

    name: str
    session: SsoSession
    account_id: str
    role_name: str  # the permission set
    region: str | None = None


@dataclass(frozen=True)
class DeviceCode:
    """What the operator needs to approve a device sign-in (none of it is a secret)."""

    verification_uri: str
    verification_uri_complete: str
    user_code: str
    expires_at: datetime  # when the code stops being accepted
    interval: int  # seconds between polls, as sso-oidc asked


@dataclass(frozen=True)
class SsoToken:
    """An Identity Center access token and what renews it, as the AWS CLI caches it."""

    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def can_refresh(self, now: datetime) -> bool:
        """A refresh token and a client registration still valid: botocore's own conditions."""
        return bool(
            self.refresh_token
            and self.client_id
            and self.client_secret
            and self.registration_expires_at is not None
            and self.registration_expires_at > now
        )

    def to_cache(self) -> dict[str, str]:
        out = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": format_time(self.expires_at),
        }
        if self.refresh_token:
            out["refreshToken"] = self.refresh_token
        if self.client_id and self.client_secret:
            out["clientId"] = self.client_id
            out["clientSecret"] = self.client_secret
        if self.registration_expires_at is not None:
            out["registrationExpiresAt"] = format_time(self.registration_expires_at)
        return out


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(CACHE_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """The cache's timestamps: `...Z`, `+00:00`, or naive (taken as UTC, as botocore does)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("UTC", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
