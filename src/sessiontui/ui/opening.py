"""Opening sessions on a node: the checks before one (connectable, a role, its scope), the reason
a role may ask for, the shell that takes over the terminal, and the forward dialog.

The role and its credentials come from the AccessController; running forwards live in ForwardBook.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sessiontui.core.access import label
from sessiontui.core.access_request import GovernedNodeError
from sessiontui.core.credentials import Credentials
from sessiontui.core.durations import format_remaining
from sessiontui.core.errors import SessiontuiError, TargetError
from sessiontui.core.node import Node
from sessiontui.core.query import parse_query
from sessiontui.core.session_end import left_open, shell_time_left
from sessiontui.core.target import resolve_target

if TYPE_CHECKING:
    from textual.app import App

    from sessiontui.plugin.shell import ShellResult
    from sessiontui.plugin.supervisor import OpenedShell, SessionSupervisor
    from sessiontui.ui.access import AccessController, ActiveAccess
    from sessiontui.ui.forwarding import ForwardBook
    from sessiontui.ui.node_access_flow import NodeAccessController
    from sessiontui.ui.screens.forward import ForwardRequest
    from sessiontui.ui.services import AppServices


def node_matches_target(node: Node, target: str) -> bool:
    """Whether a preset's target (id, Name, or K=V) names this node."""
    t = target.strip()
    if t in (node.id, node.name):
        return True
    return "=" in t and parse_query(t).matches(node)


class SessionOpener:
    def __init__(
        self,
        host: App[Any],
        services: AppServices,
        access: AccessController,
        forwards: ForwardBook,
        nodes: Callable[[], list[Node]],
    ) -> None:
        self.app = host
        self.services = services
        self.access = access
        self.forwards = forwards
        self.nodes = nodes  # the fleet as listed, for a preset's target
        # told of each shell or forward opened (the app makes its node a recent target)
        self.on_opened: Callable[[Node], None] = lambda node: None
        self.node_access: NodeAccessController | None = None  # set by the app
        self._switched_from: ActiveAccess | None = None  # see _ready and _cancelled

    def _under_kept_request(self, node: Node | None, then: Callable[[], None]) -> bool:
        """When a kept, approved just-in-time request names the node and the access held does
        not open it: work under that request first (it is checked with AWS), then `then`."""
        jit = self.node_access
        if jit is None or node is None:
            return False
        held = self.access.active
        if held is not None and held.access.targets is not None and node.id in held.access.targets:
            return False
        request = jit.covering(node)
        if request is None:
            return False
        jit.use(request, then=then)
        return True

    def session_credentials(self) -> Credentials | None:
        if self.access.active is not None:
            return self.access.active.access.credentials
        if self.access.has_offers():
            return None
        # no JIT roles configured: the base identity opens sessions itself
        try:
            found = self.services.factory.session.get_credentials()
            if found is None:
                return None
            frozen = found.get_frozen_credentials()
        except Exception:
            return None
        return Credentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)

    def supervisor(self, region: str, held: ActiveAccess | None = None) -> SessionSupervisor:
        """Sessions under `held` (the active access when None). Blocking (client creation,
        plugin lookup): call from a worker."""
        from sessiontui.operations.supervision import Supervision

        runtime = self.services.runtime
        supervision = Supervision(
            self.access.plugin(),
            self.access.audit,
            self.services.clock,
            runtime.journal if runtime is not None else None,
            runtime.source_profile if runtime is not None else _no_source_profile,
        )
        active = held or self.access.active
        if active is not None:
            factory = active.factory if active.factory is not None else self.services.factory
            ssm = factory.client("ssm", region)
            return supervision.supervisor(ssm, active.access, self._base_credentials)
        ssm = self.services.factory.client("ssm", region)
        return supervision.supervisor(ssm, None, self._base_credentials)

    def _base_credentials(self) -> Credentials:
        creds = self.session_credentials()
        if creds is None:
            raise SessiontuiError("no role taken: press r to choose one")
        return creds

    def _ready(self, node: Node | None, what: str, then: Callable[[], None]) -> bool:
        """Checks before a session; False when it cannot start (and the operator was told)."""
        if node is None:
            return False
        if not node.connectable:
            self.app.notify(
                f"{node.display_name}: {node.why}", title="not connectable", severity="warning"
            )
            return False
        if self.access.active is None and self.session_credentials() is None:
            jit = self.node_access
            # no role opens a governed node: the request does, so it is offered, not a role
            if jit is not None and jit.offer_if_governed(node, "no role taken", then):
                return False
            self.app.notify(f"choose a role to open {what}", timeout=4)
            self.access.choose_role(then=then)
            return False
        self._switched_from = None
        if self.access.active is not None:
            before = self.access.active
            self.access.use_for(node)  # several accounts held: the node's own account's access
            if self.access.active is not before:
                self._switched_from = before  # the way back, should the operator cancel
            why = self.access.active.access.refuses(node)
            jit = self.node_access
            if why and jit is not None and jit.offer_if_governed(node, why, then):
                return False
            if why:
                self.app.notify(
                    f"{node.display_name}: {why}",
                    title=label(self.access.active.access.offer),
                    severity="error",
                )
                return False
        return True

    def _with_reason(self, what: str, go: Callable[[str | None], None]) -> None:
        from sessiontui.ui.screens.reason import ReasonScreen

        held = self.access.active.access if self.access.active else None
        if held is None or not held.reason_required:
            go(self.services.reason)
            return

        def answered(reason: str | None) -> None:
            if reason:
                go(reason)
            else:
                self._cancelled()

        self.app.push_screen(ReasonScreen(held.name, what, self.services.reason), answered)

    def _cancelled(self) -> None:
        """The operator backed out (Esc on the reason or the forward dialog): the access held
        before the node's own became the active one is the active one again."""
        before, self._switched_from = self._switched_from, None
        if before is not None and before in self.access.alive():
            self.access.make_active(before)

    def connect(self, node: Node | None) -> None:
        if self._under_kept_request(node, lambda: self.connect(node)):
            return
        if not self._ready(node, "a shell", lambda: self.connect(node)):
            return
        assert node is not None
        self._with_reason(f"a shell on {node.display_name}", lambda r: self._shell(node, r))

    def _shell(self, node: Node, reason: str | None) -> None:
        """StartSession and the plugin's start in a worker: whatever refuses the shell refuses
        it there, with the TUI still on screen; only a shell that runs gets the terminal."""
        self.on_opened(node)

        def work() -> None:
            try:
                shell = self.supervisor(node.region).open_shell(node, reason=reason)
            except SessiontuiError as exc:
                self.app.call_from_thread(self._refused, node, exc)
                return
            self.app.call_from_thread(self._take_terminal, node, shell)

        self.app.run_worker(work, thread=True, group="shell", exit_on_error=False)

    def _refused(self, node: Node, exc: SessiontuiError) -> None:
        if isinstance(exc, GovernedNodeError):  # offer the way in: a just-in-time access request
            if self.node_access is not None:
                self.node_access.offer_after_refusal(node, exc.message, lambda: self.connect(node))
                return
            self.app.notify("\n".join(exc.lines()), title="just-in-time access", severity="error")
            return
        self.app.notify(
            tui_words("\n".join(exc.lines())),
            title=f"shell on {node.display_name}",
            severity="error",
        )

    def _take_terminal(self, node: Node, shell: OpenedShell) -> None:
        from textual.app import SuspendNotSupported

        from sessiontui.plugin.signals import ShutdownRequested
        from sessiontui.ui.handover import hand_over

        try:
            result = hand_over(self.app, shell.run)
        except SuspendNotSupported:
            shell.abandon("this terminal cannot hand over to a shell")
            self.app.notify("this terminal cannot hand over to a shell", severity="error")
            return
        except ShutdownRequested:
            self.app.exit(1)
            return
        except SessiontuiError as exc:
            self._refused(node, exc)
            return
        except KeyboardInterrupt:
            self.app.notify(f"shell on {node.display_name} interrupted", severity="warning")
            return
        now = self.services.clock.now()
        self.app.notify(shell_summary(node, result, now), title="shell ended", timeout=10)
        if result.terminated is False and result.session_id:
            # AWS refused to end it and still lists it as active: say which, until when and why
            why = result.terminate_error or "TerminateSession was refused"
            self.app.notify(
                left_open(result.session_id, why, result.session_end, now),
                title="session left open",
                severity="warning",
                timeout=30,
            )

    def forward(self, node: Node | None) -> None:
        from sessiontui.ui.screens.forward import ForwardScreen

        if self._under_kept_request(node, lambda: self.forward(node)):
            return
        if not self._ready(node, "a port forward", lambda: self.forward(node)):
            return
        assert node is not None
        presets = list(getattr(self.access.config, "forwards", None) or [])

        def chosen(request: ForwardRequest | None) -> None:
            if request is None:
                self._cancelled()
                return
            target = node
            if request.preset_target and not node_matches_target(node, request.preset_target):
                try:
                    target = resolve_target(self.nodes(), request.preset_target)
                except TargetError as exc:
                    self.app.notify("\n".join(exc.lines()), title="preset target", severity="error")
                    return
                if not self._ready(target, "a port forward", lambda: None):
                    return
            self._with_reason(
                f"a port forward through {target.display_name}",
                lambda r: self._start_forward(target, request, r),
            )

        refused = self.forwards.refusal(self._who())
        self.app.push_screen(ForwardScreen(node, presets, refused), chosen)

    def _who(self) -> str:
        """The access a session opens with now ("" for the base identity)."""
        return self.access.active.name if self.access.active is not None else ""

    def _start_forward(self, node: Node, request: ForwardRequest, reason: str | None) -> None:
        self.on_opened(node)
        self.forwards.start(node, request, reason, self.access.active, self._who())

    # for other ways of opening a session (ui.windows): the same checks and the same reason
    def ready(self, node: Node | None, what: str, then: Callable[[], None]) -> bool:
        return self._ready(node, what, then)

    def with_reason(self, what: str, go: Callable[[str | None], None]) -> None:
        self._with_reason(what, go)


def tui_words(text: str) -> str:
    """A hint written for the command line, in the TUI's words: its key for choosing a role."""
    return text.replace("with --role NAME", "with r").replace(
        ": --role NAME (sessiontui --help)", ": press r"
    )


def shell_summary(node: Node, result: ShellResult, now: datetime | None = None) -> str:
    took = format_remaining(getattr(result, "seconds", 0.0))
    how = str(getattr(result, "how", ""))
    reason = getattr(result, "reason", "") or how
    line = f"shell on {node.display_name} ended after {took}: {reason}"
    line += shell_time_left(getattr(result, "session_end", None), now)
    error = getattr(result, "terminate_error", "")
    if error and getattr(result, "terminated", None) is not False:
        line += f" (TerminateSession: {error})"  # a session left open has its own message
    return line


def _no_source_profile(role: str) -> str | None:
    return None
