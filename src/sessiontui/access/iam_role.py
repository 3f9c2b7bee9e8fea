"""IAM roles assumed with MFA (AssumeRole), as a source of access.

The roles come from the config and from ~/.aws/config profiles (`RoleSpec`); the work of assuming
one (duration checks, the MFA code and its window, the credential cache) is `aws.identity`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sessiontui.access.base import Prompts
from sessiontui.core.access import Access, Offer
from sessiontui.core.credentials import Credentials
from sessiontui.core.roles import RoleSpec

if TYPE_CHECKING:
    from sessiontui.aws.identity import IdentityService
    from sessiontui.aws.mfa import CodeSource, MfaCode
    from sessiontui.config import MfaConfig
    from sessiontui.core.clock import Clock
    from sessiontui.stores.audit import AuditLog

KIND = "iam-role"


class _Reporting:
    """A code source that needs no typing, wrapped so the operator sees which code it produced."""

    def __init__(self, inner: CodeSource, report: Callable[[str, float, str], None]) -> None:
        self.inner = inner
        self.report = report
        self.renewable = getattr(inner, "renewable", True)
        self.description = getattr(inner, "description", "configured source")

    def fetch(self, clock: Clock) -> MfaCode:
        from sessiontui.core.mfa_window import seconds_left_in_window

        code = self.inner.fetch(clock)
        self.report(code.code, seconds_left_in_window(clock), self.description)
        return code


def role_offer(spec: RoleSpec, known_max: int | None = None, *, needs_mfa: bool = True) -> Offer:
    """What the picker and --role know of a role, before anything is asked of AWS."""
    from sessiontui.aws.identity import account_of

    return Offer(
        name=spec.name,
        source=KIND,
        # the picker names roles read from ~/.aws/config by their profile
        detail="" if spec.origin == "config" else spec.origin,
        default_duration=spec.duration,
        max_duration=spec.max_duration if spec.max_duration is not None else known_max,
        account_id=account_of(spec.arn),
        scope=dict(spec.scope),
        reason_required=spec.reason_required,
        needs="mfa" if needs_mfa else "",
    )


def role_access(spec: RoleSpec, creds: Credentials, duration: int | None = None) -> Access:
    """Access to a role whose credentials are already held (e.g. taken before the TUI opened)."""
    return Access(role_offer(spec), creds, creds.expiration, duration=duration or spec.duration)


class IamRoleSource:
    kind = KIND

    def __init__(
        self,
        identity: IdentityService,
        roles: Mapping[str, RoleSpec],
        mfa: MfaConfig,
        *,
        audit: AuditLog | None = None,
        base_label: str = "default",
    ) -> None:
        self.identity = identity
        self.roles = dict(roles)
        self.mfa = mfa
        self.audit = audit
        self.base_label = base_label  # the base identity's name in the audit log

    # -- what can be asked for ---------------------------------------------------------------

    def offers(self) -> list[Offer]:
        # config roles in file order, then ~/.aws/config profiles by name: the picker's order
        specs = [r for r in self.roles.values() if r.origin == "config"] + sorted(
            (r for r in self.roles.values() if r.origin != "config"),
            key=lambda r: r.name.casefold(),
        )
        return [self.offer_for(spec) for spec in specs]

    def find(self, name: str) -> Offer | None:
        spec = self.roles.get(name)
        return self.offer_for(spec) if spec is not None else None

    def offer_for(self, spec: RoleSpec) -> Offer:
        known = self.identity.known_maxima().get(spec.arn)
        return role_offer(spec, known, needs_mfa=bool(self.identity.mfa_serial(spec)))

    def spec(self, offer: Offer) -> RoleSpec:
        return self.roles[offer.name]

    # -- holding it ----------------------------------------------------------------------------

    def cached(self, offer: Offer) -> Access | None:
        creds = self.identity.cached(self.spec(offer))
        return self._access(offer, creds, None, None) if creds is not None else None

    def cached_seconds(self, offer: Offer) -> float | None:
        """Seconds left on cached credentials, without resolving the base identity (no AWS call)."""
        return self.identity.cache.status(self.spec(offer))

    def obtain(self, offer: Offer, duration: int | None, prompts: Prompts) -> Access:
        spec = self.spec(offer)
        # duration checks (and the chaining cap) come before any MFA code is spent
        plan = self.identity.prepare(spec, duration)
        source = self._code_source(prompts)
        creds = self.identity.assume(
            spec,
            plan.duration,
            source,
            on_wait=prompts.on_wait,
            use_cache=False,
            on_retry=prompts.on_retry,
        )
        if self.audit is not None:
            with contextlib.suppress(OSError, ValueError):
                self.audit.role_assumed(
                    role=spec.name,
                    arn=spec.arn,
                    duration=plan.duration,
                    expires_at=creds.expiration,
                    source=spec.source_profile or self.base_label,
                )
        return self._access(offer, creds, plan.duration, plan.warning)

    def forget(self) -> int:
        return int(self.identity.logout())

    # -- helpers -------------------------------------------------------------------------------

    def _access(
        self, offer: Offer, creds: Credentials, duration: int | None, warning: str | None
    ) -> Access:
        return Access(offer, creds, creds.expiration, duration=duration, warning=warning)

    def _code_source(self, prompts: Prompts) -> CodeSource | None:
        """--mfa-code, else the configured secret or command when usable, else the prompt."""
        from sessiontui.aws.mfa import make_code_source, secret_env_value

        typed = prompts.take_typed_code()
        env_name = self.mfa.totp_secret_env
        if env_name and not secret_env_value(env_name) and prompts.ask_code is not None:
            env_name = None  # configured but not set in this shell: ask rather than fail
        source = make_code_source(
            env_name, self.mfa.totp_command, typed=typed, ask=prompts.ask_code
        )
        report = prompts.on_code_filled
        configured = source is not None and typed is None and (env_name or self.mfa.totp_command)
        if configured and report is not None:
            assert source is not None
            return _Reporting(source, report)
        return source
