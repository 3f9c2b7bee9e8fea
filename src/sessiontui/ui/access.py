"""Who the operator is right now: the role, its MFA, its clock, and what ends when it expires.
Opening shells and forwards with it is `opening.SessionOpener`'s part.

A plain object the app owns. Blocking work goes to workers (`app.run_worker(thread=True)`);
screens it opens report back through their dismiss callbacks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches

from sessiontui.core.credentials import Credentials
from sessiontui.core.durations import WARN_AT, format_duration, format_remaining
from sessiontui.core.errors import SessiontuiError
from sessiontui.core.roles import RoleSpec
from sessiontui.ui.messages import SessionsStopped

# The dialogs are imported where they open: none of them is needed for the first frame.
if TYPE_CHECKING:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.screens.roles import RoleChoice


@dataclass
class ActiveRole:
    spec: RoleSpec
    credentials: Credentials
    factory: Any  # ClientFactory with the role's credentials
    duration: int
    warned: set[int] = field(default_factory=set)

    def remaining(self, now: Any) -> float | None:
        exp = self.credentials.expiration
        return None if exp is None else max(0.0, (exp - now).total_seconds())


class AccessController:
    def __init__(self, app: SessiontuiApp) -> None:
        self.app = app
        self.services = app.services
        self.active: ActiveRole | None = None
        self.expired: ActiveRole | None = None
        self._identity: Any = self.services.identity
        self._audit: Any = self.services.audit
        self._plugin: Any = None
        self._typed_code = self.services.mfa_code
        if self.services.role is not None and self.services.role_credentials is not None:
            creds = self.services.role_credentials
            self._set_active(self.services.role, creds, self.services.role.duration)

    # ---- collaborators, built on first use --------------------------------------------------

    @property
    def config(self) -> Any:
        return self.services.config

    def roles(self) -> Mapping[str, RoleSpec]:
        return dict(getattr(self.config, "roles", None) or {})

    @property
    def identity(self) -> Any:
        runtime = self.services.runtime
        if self._identity is None and runtime is not None:
            self._identity = runtime.identity
        if self._identity is None:
            from sessiontui.aws.clients import ClientFactory
            from sessiontui.aws.identity import IdentityService
            from sessiontui.config import Config

            base = self.services.factory

            def factory_for(profile: str | None) -> Any:
                if profile in (None, getattr(base, "profile", None)):
                    return base
                return ClientFactory(profile=profile)

            regions = self.services.regions
            self._identity = IdentityService.from_config(
                self.config or Config(),
                factory_for,
                clock=self.services.clock,
                region=regions[0] if regions else None,
            )
        return self._identity

    @property
    def audit(self) -> Any:
        runtime = self.services.runtime
        if self._audit is None and runtime is not None:
            self._audit = runtime.audit
        if self._audit is None:
            from sessiontui.audit import AuditLog

            self._audit = AuditLog(clock=self.services.clock)
        return self._audit

    def plugin(self) -> Any:
        """PluginInfo; blocking (runs `--version` once): call from a worker or a suspend."""
        if self._plugin is None:
            from sessiontui.plugin.locate import locate_plugin

            self._plugin = locate_plugin(getattr(self.config, "plugin_path", None))
        return self._plugin

    def prefetch_plugin(self) -> None:
        def work() -> None:
            with contextlib.suppress(SessiontuiError, OSError):
                self.plugin()

        self.app.run_worker(work, thread=True, group="plugin", exit_on_error=False)

    # ---- the role ---------------------------------------------------------------------------

    def listing_factory(self) -> Any:
        if self.active is not None and self.active.factory is not None:
            left = self.active.remaining(self.services.clock.now())
            if left is None or left > 0:
                return self.active.factory
        return self.services.factory

    def choose_role(
        self, then: Callable[[], None] | None = None, preselect: str | None = None
    ) -> None:
        from sessiontui.ui.screens.roles import RolePickerScreen, role_lines

        specs = self.roles()
        if not specs:
            self.app.notify(
                "no roles configured: add [roles.NAME] to config.toml, or a profile with "
                "role_arn in ~/.aws/config",
                severity="error",
            )
            return
        from sessiontui.aws.identity import roles_for_picker

        ident = self.identity
        rows = roles_for_picker(specs, ident.cache, self.services.clock, ident.known_maxima())
        current = preselect or (self.active.spec.name if self.active else None)

        def probe(spec: RoleSpec) -> tuple[bool | None, int | None]:
            chained = ident.caller(spec.source_profile).chained
            return chained, ident.role_max(spec)

        def chosen(choice: RoleChoice | None) -> None:
            if choice is not None:
                self.take_role(choice, then)

        self.app.push_screen(
            RolePickerScreen(
                role_lines(rows, specs),
                preselect=current or self.services.initial_role,
                duration=self.services.initial_duration,
                probe=probe,
            ),
            chosen,
        )

    def take_role(
        self, choice: RoleChoice, then: Callable[[], None] | None = None, *, use_cache: bool = True
    ) -> None:
        from sessiontui.ui.screens.mfa import AssumeScreen

        role, duration = choice.role, choice.duration
        typed, self._typed_code = self._typed_code, None

        def assume(source: Any, on_wait: Callable[[int], None]) -> Credentials:
            return self._assume(role, duration, source, on_wait, use_cache)

        def done(creds: Credentials | None) -> None:
            if creds is None:
                return
            self._set_active(role, creds, duration)
            left = self.active.remaining(self.services.clock.now()) if self.active else None
            until = f" for {format_remaining(left)}" if left is not None else ""
            self.app.notify(f"role {role.name} taken{until}", title="role")
            book = self.app.forwards
            waiting = book.expired_count()
            if waiting:
                self.app.notify(
                    f"{waiting} forward(s) ended when the role expired: press s in the forwards "
                    "panel (F) to start them again on the same local ports",
                    timeout=10,
                )
            if then is not None:
                then()

        self.app.push_screen(
            AssumeScreen(
                role,
                duration,
                assume,
                self._code_source,
                self.services.clock,
                typed_code=typed,
            ),
            done,
        )

    def _assume(
        self,
        role: RoleSpec,
        duration: int,
        source: Any,
        on_wait: Callable[[int], None],
        use_cache: bool,
    ) -> Credentials:
        """Blocking: cached credentials, else AssumeRole with MFA (and an audit line)."""
        ident = self.identity
        if use_cache:
            found = ident.cached(role)
            if found is not None:
                return found
        creds: Credentials = ident.assume(role, duration, source, on_wait=on_wait, use_cache=False)
        with contextlib.suppress(OSError, ValueError):
            self.audit.role_assumed(
                role=role.name,
                arn=role.arn,
                duration=duration,
                expires_at=creds.expiration,
                source=role.source_profile or self.services.profile_label,
            )
        return creds

    def _code_source(self, ask: Callable[[str], str | None]) -> Any:
        """The configured secret or command when usable, else the modal's prompt."""
        from sessiontui.aws.mfa import InteractiveSource, make_code_source

        mfa = getattr(self.config, "mfa", None)
        env_name = getattr(mfa, "totp_secret_env", None)
        if env_name and not os.environ.get(env_name):
            env_name = None  # configured but not set in this shell: ask rather than fail
        source = make_code_source(env_name, getattr(mfa, "totp_command", None), ask=ask)
        return source or InteractiveSource(ask)

    def _set_active(self, role: RoleSpec, creds: Credentials, duration: int) -> None:
        base = self.services.factory
        factory = base.with_credentials(creds) if hasattr(base, "with_credentials") else None
        self.active = ActiveRole(role, creds, factory, duration)
        self.expired = None
        left = self.active.remaining(self.services.clock.now())
        # thresholds already behind us at activation are not news
        if left is not None:
            self.active.warned = {t for t in WARN_AT if left <= t}
        screen = self.app.main_screen
        # before the fleet screen is composed there is nothing to show it on; show_role() will
        with contextlib.suppress(NoMatches):
            screen.header.set_role(role.name, creds.expiration)
            screen.node_list.set_scope(role.scope)

    def show_role(self) -> None:
        """Once the fleet screen exists: show the role taken before the TUI, or take --role."""
        if self.active is not None:
            self._set_active(self.active.spec, self.active.credentials, self.active.duration)
            return
        name = self.services.initial_role
        if not name:
            return
        spec = self.roles().get(name)
        if spec is None:
            self.app.notify(f"unknown role {name!r}", severity="error")
            return
        from sessiontui.ui.screens.roles import RoleChoice

        self.take_role(RoleChoice(spec, self.services.initial_duration or spec.duration))

    def tick(self) -> None:
        active = self.active
        if active is None:
            return
        left = active.remaining(self.services.clock.now())
        if left is None:
            return
        if left <= 0:
            self.expire()
            return
        for threshold in WARN_AT:
            if left <= threshold and threshold not in active.warned:
                active.warned.add(threshold)
                self.app.notify(
                    f"role {active.spec.name}: {format_remaining(left)} left; its sessions end "
                    "when it expires",
                    title="role expiring",
                    severity="error" if threshold <= min(WARN_AT) else "warning",
                    timeout=15,
                )

    def expire(self) -> None:
        """The role ran out: end its sessions, say so, and offer to take it again."""
        from sessiontui.ui.screens.confirm import ConfirmScreen
        from sessiontui.ui.screens.roles import RoleChoice

        active = self.active
        if active is None:
            return
        self.active = None
        self.expired = active
        self.app.main_screen.header.set_expired(active.spec.name)
        self.end_sessions("the role's credentials expired", expired=True)
        self.app.notify(
            f"role {active.spec.name} expired; its sessions are being ended",
            title="role expired",
            severity="error",
            timeout=15,
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.take_role(RoleChoice(active.spec, active.duration), use_cache=False)

        self.app.push_screen(
            ConfirmScreen(
                f"Role {active.spec.name} expired. Take it again now "
                f"({format_duration(active.duration)}, MFA)?",
                yes="Re-authenticate",
                no="Later",
            ),
            answered,
        )

    def reauthenticate(self) -> None:
        from sessiontui.ui.screens.roles import RoleChoice

        current = self.active or self.expired
        if current is None:
            self.choose_role()
            return
        self.take_role(RoleChoice(current.spec, current.duration), use_cache=False)

    def logout(self) -> None:
        """Forget every cached role credential, drop the role, end what it opened."""

        def work() -> None:
            removed = 0
            with contextlib.suppress(SessiontuiError, OSError):
                removed = int(self.identity.logout())
            self.app.call_from_thread(
                self.app.notify, f"logged out: {removed} cached credential file(s) removed"
            )

        self.active = None
        self.expired = None
        screen = self.app.main_screen
        screen.header.set_role(None, None)
        screen.node_list.set_scope(None)
        self.end_sessions("logged out")
        self.app.run_worker(work, thread=True, group="logout", exit_on_error=False)

    def end_sessions(
        self, why: str, *, expired: bool = False, then: Callable[[], None] | None = None
    ) -> None:
        """Terminate every session of this process in a worker (stopping one can take seconds)."""
        from sessiontui.plugin.output import Ending
        from sessiontui.plugin.supervisor import ACTIVE_SESSIONS

        book = self.app.forwards

        def work() -> None:
            how = Ending.EXPIRED if expired else Ending.STOPPED
            count = book.stop_all_blocking(how, why)
            count += ACTIVE_SESSIONS.terminate_all(why, how)
            self.app.post_message(SessionsStopped(count, why, then))

        self.app.run_worker(work, thread=True, group="end-sessions", exit_on_error=False)
