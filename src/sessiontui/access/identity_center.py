"""IAM Identity Center (AWS SSO) as a source of access: the portal's accounts and permission sets,
named `ACCOUNT/PERMISSION_SET` (the account's name or id), taken with GetRoleCredentials.

The sign-in and its token are the AWS CLI's (`aws.sso_token`, `aws.sso_device`): a token left by
`aws sso login` is used as it is, refreshed when it can be, and a device sign-in is asked for
through `Prompts.on_sign_in` only when there is no other way. The permission set fixes the
credentials' duration. When the token cannot be renewed and ends before the credentials, that end,
and why, is the access's end: the credentials could not be renewed past it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sessiontui.access.base import Prompts, SignInPrompt
from sessiontui.aws.sso_portal import (
    PortalAccount,
    PortalCache,
    TokenRejected,
    list_accounts,
    permission_set_key,
    role_credentials,
)
from sessiontui.aws.sso_token import SignInRequired, TokenSource
from sessiontui.core.access import ENDS_CREDENTIALS, Access, Offer, earliest_end
from sessiontui.core.credentials import Credentials
from sessiontui.core.durations import format_duration
from sessiontui.core.errors import UsageError
from sessiontui.core.sso import DeviceCode, SsoSession, SsoToken

if TYPE_CHECKING:
    from mypy_boto3_sso import SSOClient

    from sessiontui.access import AccessContext
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.credcache import CredentialCache
    from sessiontui.core.clock import Clock
    from sessiontui.stores.audit import AuditLog

KIND = "identity-center"
LISTING_FRESH = 3600  # seconds a portal listing is used without asking the portal again
T = TypeVar("T")
NEEDS_LISTING = "listing"  # Offer.needs of the line that signs in and lists the portal
ENDS_SESSION = "the Identity Center session ends (its sign-in cannot be renewed)"


class IdentityCenterSource:
    kind = KIND

    def __init__(
        self,
        session: SsoSession,
        factory: ClientFactory,
        clock: Clock,
        *,
        audit: AuditLog | None = None,
        credentials: CredentialCache | None = None,
        portal: PortalCache | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        from sessiontui.aws.credcache import CredentialCache
        from sessiontui.stores import paths

        self.session = session
        self.factory = factory
        self.clock = clock
        self.audit = audit
        self.tokens = tokens if tokens is not None else TokenSource(session, factory, clock=clock)
        self.portal = portal if portal is not None else PortalCache(session.start_url)
        self.credentials = credentials or CredentialCache(
            paths.cache_dir() / "identity-center" / "credentials", clock=clock
        )
        self.listing_age: float | None = None  # seconds, of the listing offers() last gave

    # -- what can be asked for ---------------------------------------------------------------

    def accounts(
        self, prompts: Prompts | None = None, *, fresh: bool = False
    ) -> list[PortalAccount]:
        """The portal's accounts: the cached listing while fresh, else the portal's (a token is
        needed: SignInRequired without one, unless `prompts` can ask for a sign-in)."""
        cached = self.portal.load()
        if cached is not None and not fresh and cached[1] < LISTING_FRESH:
            self.listing_age = cached[1]
            return cached[0]
        try:
            token = self._token(prompts)
        except SignInRequired:
            if cached is not None and not fresh:
                self.listing_age = cached[1]
                return cached[0]  # old, but the names are what the operator needs now
            raise
        accounts = self._with_token(token, prompts, lambda t: list_accounts(self._sso(), t))
        with contextlib.suppress(OSError):
            self.portal.save(accounts)
        self.listing_age = 0.0
        return accounts

    def offers(self) -> list[Offer]:
        """Every account's permission sets from the cached listing (no AWS call: the picker
        opens at once); without one, a single offer to sign in and list them (`needs_listing`)."""
        cached = self.portal.load()
        if cached is None:
            return [self.listing_offer()]
        accounts, age = cached
        self.listing_age = age
        listed = (
            "listed just now" if age < 60 else f"listed {format_duration(int(age) // 60 * 60)} ago"
        )
        return [self._offer(a, ps, listed) for a in accounts for ps in a.permission_sets]

    def listing_offer(self) -> Offer:
        """What the picker shows before the portal was asked: choosing it signs in (when needed)
        and lists the accounts and permission sets."""
        return Offer(
            name=f"Identity Center ({self.session.label})",
            source=KIND,
            # read after the name in the role picker: what Enter on the line does
            detail="Enter signs in (when needed) and lists your accounts' permission sets",
            fixed_duration=True,
            needs=NEEDS_LISTING,
        )

    def find(self, name: str) -> Offer | None:
        if "/" not in name:
            return None
        account_part, _, permission_set = name.partition("/")
        try:
            accounts = self.accounts()
        except SignInRequired:
            # not signed in and nothing listed: `obtain` signs in (when prompts allow) and
            # resolves the name then
            return Offer(
                name=name,
                source=KIND,
                detail="resolved after the sign-in",
                fixed_duration=True,
                account_id=account_part if account_part.isdigit() else "",
                needs="sign-in",
            )
        found = self._match(accounts, account_part, permission_set)
        if found is None and self.listing_age:
            # an old listing may predate a new assignment: ask the portal once
            with contextlib.suppress(SignInRequired):
                accounts = self.accounts(fresh=True)
                found = self._match(accounts, account_part, permission_set)
        if found is not None:
            return found
        known = ", ".join(f"{a.name}/{ps}" for a in accounts for ps in a.permission_sets)
        raise UsageError(
            f"no Identity Center permission set {name!r} in {self.session.label} "
            f"(known: {known or 'none'})",
            "name it ACCOUNT/PERMISSION_SET, with the account's name or 12-digit id",
        )

    def _match(
        self, accounts: list[PortalAccount], account_part: str, permission_set: str
    ) -> Offer | None:
        for account in accounts:
            if account_part in (account.account_id,) or (
                account.name.casefold() == account_part.casefold()
            ):
                for ps in account.permission_sets:
                    if ps == permission_set or ps.casefold() == permission_set.casefold():
                        return self._offer(account, ps)
        return None

    def _offer(self, account: PortalAccount, permission_set: str, listed: str = "") -> Offer:
        return Offer(
            name=f"{account.name}/{permission_set}",
            source=KIND,
            detail=f"Identity Center account {account.account_id}"
            + (f" · {listed}" if listed else ""),
            default_duration=None,
            fixed_duration=True,
            account_id=account.account_id,
            account_name=account.name,
            needs="sign-in",
        )

    # -- holding it ----------------------------------------------------------------------------

    def cached(self, offer: Offer) -> Access | None:
        if offer.needs == NEEDS_LISTING:
            return None
        creds = self.credentials.get(self._key(offer), None, self.session.cache_key)
        if creds is None:
            return None
        try:
            token: SsoToken | None = self.tokens.cache.load(self.session)
        except SignInRequired:
            token = None
        return self._access(offer, creds, token)

    def cached_seconds(self, offer: Offer) -> float | None:
        if offer.needs == NEEDS_LISTING:
            return None
        creds = self.credentials.get(self._key(offer), None, self.session.cache_key)
        if creds is None or creds.expiration is None:
            return None
        return (creds.expiration - self.clock.now()).total_seconds()

    def obtain(self, offer: Offer, duration: int | None, prompts: Prompts) -> Access:
        if offer.needs == NEEDS_LISTING:
            raise UsageError("choose a permission set: this line only lists them")
        if not offer.account_name:  # named before any listing: sign in, then resolve the name
            self._token(prompts)
            resolved = self.find(offer.name)
            if resolved is None or not resolved.account_name:
                raise SignInRequired(self.session, "not signed in (no cached token)")
            offer = resolved
        account_id, permission_set = offer.account_id, offer.name.rsplit("/", 1)[1]
        token = self._token(prompts)
        creds = self._with_token(
            token,
            prompts,
            lambda t: role_credentials(self._sso(), t, account_id, permission_set, offer.name),
        )
        with contextlib.suppress(OSError, ValueError):
            self.credentials.put(creds, None, self.session.cache_key)
        if self.audit is not None:
            with contextlib.suppress(OSError, ValueError):
                self.audit.write(
                    "role_assumed",
                    role=offer.name,
                    arn=permission_set_key(account_id, permission_set),
                    source=f"identity-center:{self.session.name}",
                    expires_at=creds.expiration,
                )
        warning = None
        if duration is not None:
            warning = (
                f"{offer.name}: the permission set's session duration decides how long its "
                "credentials last (--duration is not used)"
            )
        with contextlib.suppress(SignInRequired):  # a refresh on the way may have renewed it
            token = self.tokens.cache.load(self.session) or token
        access = self._access(offer, creds, token)
        return Access(
            access.offer,
            access.credentials,
            access.ends_at,
            access.ends_because,
            duration=None,
            warning=warning,
        )

    def forget(self) -> int:
        """Role credentials and the listing go; the sign-in stays (it is the AWS CLI's too)."""
        return int(self.credentials.wipe()) + self.portal.forget()

    # -- helpers -------------------------------------------------------------------------------

    def _key(self, offer: Offer) -> str:
        return permission_set_key(offer.account_id, offer.name.rsplit("/", 1)[1])

    def _sso(self) -> SSOClient:
        return self.factory.unsigned_client("sso", self.session.region)

    def _access(self, offer: Offer, creds: Credentials, token: SsoToken | None) -> Access:
        ends = [(creds.expiration, ENDS_CREDENTIALS)]
        if token is not None and not token.can_refresh(self.clock.now()):
            ends.append((token.expires_at, ENDS_SESSION))
        ends_at, because = earliest_end(ends)
        return Access(offer, creds, ends_at, because)

    def _token(self, prompts: Prompts | None) -> SsoToken:
        try:
            return self.tokens.token()
        except SignInRequired:
            if prompts is None or prompts.on_sign_in is None:
                raise
        return self.sign_in(prompts)

    def sign_in(self, prompts: Prompts) -> SsoToken:
        """The device sign-in, shown through `prompts.on_sign_in`, stopped by `prompts.cancel`."""
        from sessiontui.aws.sso_device import DeviceSignIn

        show = prompts.on_sign_in

        def on_code(code: DeviceCode) -> None:
            if show is not None:
                show(
                    SignInPrompt(
                        url=code.verification_uri_complete,
                        user_code=code.user_code,
                        expires_at=code.expires_at,
                        session=self.session.label,
                    )
                )

        token = DeviceSignIn(
            self.session, self.factory, self.tokens.cache, self.clock, prompts.cancel
        ).run(on_code)
        if self.audit is not None:
            with contextlib.suppress(OSError, ValueError):
                self.audit.write(
                    "sso_signed_in",
                    sso_session=self.session.name,
                    start_url=self.session.start_url,
                    expires_at=token.expires_at,
                )
        return token

    def _with_token(self, token: SsoToken, prompts: Prompts | None, call: Callable[[str], T]) -> T:
        """`call(access_token)`; when the portal refuses the token (signed out, expired early),
        refresh it, or sign in again when prompts allow, and try once more."""
        try:
            return call(token.access_token)
        except TokenRejected:
            pass
        renewed: SsoToken | None = None
        if token.can_refresh(self.clock.now()):
            with contextlib.suppress(SignInRequired):
                renewed = self.tokens.refresh(token)
        if renewed is None:
            if prompts is None or prompts.on_sign_in is None:
                raise SignInRequired(self.session, "the portal refused the sign-in token")
            renewed = self.sign_in(prompts)
        return call(renewed.access_token)


def identity_center_source(ctx: AccessContext) -> list[IdentityCenterSource]:
    """The source for the configured sso-session ([identity_center] session, the profile's, or
    the only one in ~/.aws/config); none when there is none to choose."""
    import os

    from sessiontui.aws_profiles import find_sso_session

    configured = ctx.config.identity_center.session
    profile = ctx.factory.profile or ctx.config.profile or os.environ.get("AWS_PROFILE")
    try:
        session = find_sso_session(None, configured, profile)
    except UsageError:
        return []
    return [IdentityCenterSource(session, ctx.factory, ctx.clock, audit=ctx.audit)]
