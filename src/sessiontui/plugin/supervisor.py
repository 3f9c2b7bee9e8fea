"""The one owner of a session's life: StartSession, the plugin, and TerminateSession on every way out.

The CLI (--connect) and the TUI both come here; neither runs the plugin itself. Whatever ends a
session (the plugin exiting, Ctrl-C, SIGTERM/SIGHUP, a crash, the watchdog, credential expiry, the
TUI quitting) goes through one idempotent close: TerminateSession, then the audit event. The
session handles, that close and the expiry watch live in `session_handles`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sessiontui.aws.session_limits import session_limits
from sessiontui.aws.sessions import StartedSession, start_session
from sessiontui.core.access import Access, ended_text
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import PluginError, SessionKindError, SessiontuiError
from sessiontui.core.forwards import Forward
from sessiontui.core.node import Node
from sessiontui.core.session_end import SessionLimits, session_end
from sessiontui.plugin.command import build_command
from sessiontui.plugin.forward import (
    DEFAULT_READY_TIMEOUT,
    ForwardListener,
    ForwardRunner,
    check_local_port,
)
from sessiontui.plugin.locate import PluginInfo
from sessiontui.plugin.output import Ending
from sessiontui.plugin.session_handles import (
    ACTIVE_SESSIONS,
    EXPIRY_MARGIN,
    ActiveSessions,
    Closer,
    ExpiryWatch,
    ForwardSession,
    ManagedSession,
    ShellSession,
)
from sessiontui.plugin.shell import ShellResult, ShellRunner
from sessiontui.plugin.signals import (
    ShutdownRequested,
    keyboard_signals_ignored,
    shutdown_signals,
)
from sessiontui.stores.audit import AuditLog
from sessiontui.stores.journal import SessionJournal

__all__ = [
    "ACTIVE_SESSIONS",
    "EXPIRY_MARGIN",
    "ActiveSessions",
    "ForwardSession",
    "ManagedSession",
    "OpenedShell",
    "SessionSupervisor",
    "ShellSession",
    "forward_document",
]

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

    from sessiontui.plugin.stream import StreamResult

PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSession"
REMOTE_HOST_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"


def forward_document(
    remote_port: int, host: str | None = None, local_port: int | None = 0
) -> tuple[str, dict[str, list[str]]]:
    """DocumentName and Parameters for a forward (values are lists of strings, as SSM wants)."""
    params = {"portNumber": [str(remote_port)], "localPortNumber": [str(local_port or 0)]}
    if host:
        return REMOTE_HOST_DOCUMENT, {"host": [host], **params}
    return PORT_FORWARD_DOCUMENT, params


@dataclass
class SessionSupervisor:
    """Opens sessions with one role's credentials, in the ssm client's region."""

    ssm: SSMClient  # for the node's region, built with `credentials`
    credentials: Credentials
    plugin: PluginInfo
    audit: AuditLog | None = None
    registry: ActiveSessions = ACTIVE_SESSIONS
    clock: Clock = SYSTEM_CLOCK
    base_env: Mapping[str, str] | None = None  # the plugin's environment before ours; os.environ
    journal: SessionJournal | None = None  # where sessions wait for their TerminateSession
    # when the access ends, if sooner than the credentials (an Identity Center session, a request)
    ends_at: datetime | None = None
    ends_because: str = "the role's credentials expired"
    access_name: str = ""  # the access the sessions run under, for the audit log

    @classmethod
    def for_access(
        cls,
        ssm: SSMClient,
        access: Access,
        plugin: PluginInfo,
        *,
        audit: AuditLog | None = None,
        clock: Clock = SYSTEM_CLOCK,
        journal: SessionJournal | None = None,
    ) -> SessionSupervisor:
        """Sessions under `access`: its credentials, ended at its real end."""
        return cls(
            ssm=ssm,
            credentials=access.credentials,
            plugin=plugin,
            audit=audit,
            clock=clock,
            journal=journal,
            ends_at=access.ends_at,
            ends_because=ended_text(access),
            access_name=access.name,
        )

    @property
    def session_ends_at(self) -> datetime | None:
        return self.ends_at if self.ends_at is not None else self.credentials.expiration

    # --- shell ---------------------------------------------------------------------------------

    def run_shell(
        self,
        target: str | Node,
        *,
        node_name: str = "",
        reason: str | None = None,
        handle_signals: bool = True,
    ) -> ShellResult:
        """A shell on `target`, in our terminal, until it ends. Needs a tty on stdin.

        Raises ShutdownRequested (after terminating the session) when SIGTERM/SIGHUP arrived,
        core errors when StartSession or the plugin fails.
        """
        guard = shutdown_signals(self._on_shutdown) if handle_signals else contextlib.nullcontext()
        with guard:
            shell = self.open_shell(target, node_name=node_name, reason=reason)
            return shell.run(handle_signals=False)

    def open_shell(
        self, target: str | Node, *, node_name: str = "", reason: str | None = None
    ) -> OpenedShell:
        """StartSession and the plugin spawned, the terminal not yet handed over.

        Everything that can refuse a shell (StartSession: the policy, node access, the node;
        the plugin: missing, not executable, no terminal) refuses here, so a front end that
        must give up its screen for the shell (the TUI) does so only for a shell that runs.
        The caller owns the result: `run()` it, or `abandon()` it.
        """
        target_id, node_name = _target(target, node_name)
        started = self.start_session(target_id, None, {}, reason)
        # in place before the spawn (a SIGKILL from here on is recovered by it); its fsyncs,
        # against a power loss, wait until the plugin has started
        self.journal_started(started, "shell", node_name, sync=False)
        began = time.monotonic()
        closer = Closer(self, started, began)
        try:
            started_at = self.clock.now()
            runner = ShellRunner(
                build_command(self.plugin, started, self.credentials, self.base_env)
            )
            runner.spawn()
            # what can wait comes after the spawn: the plugin's handshake runs meanwhile. The
            # limits (GetDocument, DescribeSessions) are wanted only when the shell ends, and
            # the audit event only as a record; the journal entry, written above, is what a
            # SIGKILL from here on is recovered by
            limits = Beside(lambda: session_limits(self.ssm, started.session_id))
            self.journal_synced(started.session_id)
            self.audit_started(started, node_name)
        except BaseException as e:
            why = e.message if isinstance(e, SessiontuiError) else "the plugin did not start"
            closer.close(Ending.CRASHED, why)
            raise
        return OpenedShell(self, started, runner, closer, started_at, limits)

    # --- forwards    # --- forwards ------------------------------------------------------------------------------

    def start_forward(
        self,
        target: str | Node,
        remote_port: int,
        *,
        host: str | None = None,
        local_port: int | None = 0,
        node_name: str = "",
        reason: str | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        on_change: ForwardListener | None = None,
    ) -> ForwardSession:
        """Start a forward in the background and return at once (state STARTING).

        `on_change(forward)` is called from a background thread on every state change, the last
        time with state ENDED after TerminateSession was sent.
        """
        target_id, node_name = _target(target, node_name)
        check_local_port(local_port)  # before StartSession: a busy port would hang the plugin
        document, params = forward_document(remote_port, host, local_port)
        started = self.start_session(target_id, document, params, reason)
        self.journal_started(started, "forward", node_name)
        began = time.monotonic()
        closer = Closer(self, started, began)
        self.audit_started(started, node_name, local_port or None, remote_port, host)
        forward = Forward(
            target=target_id,
            remote_port=remote_port,
            host=host,
            requested_local_port=local_port or 0,
            node_name=node_name,
            region=started.region,
            session_id=started.session_id,
            started_at=self.clock.now(),
            expires_at=self.session_ends_at,
            limits=session_limits(self.ssm, started.session_id),
        )
        holder: dict[str, Any] = {}

        def on_end(fw: Forward) -> None:
            watch = holder.get("watch")
            if watch is not None:
                watch.cancel()
            handle = holder.get("handle")
            if handle is not None:
                self.registry.remove(handle)
            closer.close(fw.how, fw.reason, fw.local_port)

        try:
            command = build_command(self.plugin, started, self.credentials, self.base_env)
            runner = ForwardRunner(
                command,
                forward,
                ready_timeout=ready_timeout,
                on_change=on_change,
                on_end=on_end,
                clock=self.clock,
            )
            handle = ForwardSession(started, runner, closer)
            holder["handle"] = handle
            self.registry.add(handle)
            runner.start()
        except BaseException as e:
            if "handle" in holder:
                self.registry.remove(holder["handle"])
            closer.close(Ending.CRASHED, getattr(e, "message", str(e)) or type(e).__name__)
            raise
        holder["watch"] = ExpiryWatch(
            self.clock,
            self.session_ends_at,
            lambda: runner.stop(Ending.EXPIRED, self.ends_because),
        )
        if runner.forward.ended:  # it may have died before the watch existed
            holder["watch"].cancel()
        return handle

    def run_forward(
        self,
        target: str | Node,
        remote_port: int,
        *,
        host: str | None = None,
        local_port: int | None = 0,
        node_name: str = "",
        reason: str | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        on_ready: Callable[[Forward], None] | None = None,
        on_change: ForwardListener | None = None,
        handle_signals: bool = True,
    ) -> Forward:
        """Headless forward (`--connect --forward`): blocks until it ends; returns the ended Forward.

        `on_ready` runs once in this thread when the plugin listens (print the JSON line there).
        Ctrl-C ends it normally (returns, how=stopped). SIGTERM/SIGHUP end it and then raise
        ShutdownRequested. A forward that never becomes ready raises PluginError (exit 5).
        """
        from sessiontui.plugin.healing import start_healing_forward

        guard = shutdown_signals(self._on_shutdown) if handle_signals else contextlib.nullcontext()
        with guard:
            session = start_healing_forward(
                self,
                target,
                remote_port,
                host=host,
                local_port=local_port,
                node_name=node_name,
                reason=reason,
                ready_timeout=ready_timeout,
                on_change=on_change,
            )
            try:
                fw = session.wait_ready()
                if not fw.is_ready:
                    fw = session.wait(timeout=10)
                    raise PluginError(
                        f"the port forward did not start: {fw.reason}",
                        _last_lines(session.output),
                    )
                if on_ready is not None:
                    on_ready(fw)
                while not session.wait(timeout=0.5).ended:
                    pass
                return session.forward
            except KeyboardInterrupt:
                # a second Ctrl-C must not cut the TerminateSession that the first one asked for
                with keyboard_signals_ignored():
                    session.stop(Ending.STOPPED, "stopped with Ctrl-C")
                return session.forward
            except ShutdownRequested as e:
                session.stop(Ending.INTERRUPTED, f"sessiontui received {e.name}")
                raise
            finally:
                if not session.forward.ended:
                    session.stop(Ending.INTERRUPTED, "sessiontui is exiting")

    # --- standard streams (ssh's ProxyCommand) --------------------------------------------------

    def run_stream(
        self,
        target: str | Node,
        document: str,
        parameters: dict[str, list[str]],
        *,
        node_name: str = "",
        reason: str | None = None,
        stderr: int | None = None,
    ) -> StreamResult:
        """The plugin on our own stdin/stdout (no pty) until it ends (plugin/stream.py), then
        TerminateSession. SIGTERM/SIGHUP/SIGINT stop it and come back in `signum`, never raised."""
        from sessiontui.plugin.stream import run_stream

        return run_stream(
            self, target, document, parameters, node_name=node_name, reason=reason, stderr=stderr
        )

    # --- internals -----------------------------------------------------------------------------

    def _on_shutdown(self, signum: int) -> None:
        # Sessions run by other threads (TUI forwards) stop themselves; ours unwinds by exception.
        # The first stop's reason is the one a forward's audit event keeps: name the signal, as
        # the shell's does.
        name = signal.Signals(signum).name
        self.registry.terminate_all(f"sessiontui received {name}", Ending.INTERRUPTED)

    def start_session(
        self, target: str, document: str | None, params: dict[str, list[str]], reason: str | None
    ) -> StartedSession:
        try:
            return start_session(self.ssm, target, document, params or None, reason)
        except SessionKindError as refused:
            if self.audit is not None:
                with contextlib.suppress(OSError):
                    self.audit.session_refused(
                        target,
                        "",
                        str(getattr(self.ssm.meta, "region_name", "") or ""),
                        refused.document,
                        self.access_name or self.credentials.role_name,
                        refused.message,
                    )
            raise

    def journal_started(
        self, started: StartedSession, kind: str, node_name: str, sync: bool = True
    ) -> None:
        if self.journal is None:
            return
        with contextlib.suppress(OSError):  # as the audit: a full disk must not cost the session
            self.journal.record(
                session_id=started.session_id,
                region=started.region,
                endpoint_url=started.endpoint_url,
                target=started.target,
                kind=kind,
                document=started.document,
                node_name=node_name,
                role_name=self.access_name or self.credentials.role_name,
                role_arn=self.credentials.role_arn,
                started_at=self.clock.now(),
                sync=sync,
            )

    def journal_synced(self, session_id: str) -> None:
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.sync_entry(session_id)

    def journal_left_open(self, session_id: str, why: str) -> None:
        """TerminateSession was refused and the session is still Active: its entry stays, marked,
        for a later start to end with credentials that can."""
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.mark_left_open(session_id, why)

    def journal_ended(self, session_id: str) -> None:
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.remove(session_id)

    def audit_started(
        self,
        started: StartedSession,
        node_name: str,
        local_port: int | None = None,
        remote_port: int | None = None,
        host: str | None = None,
    ) -> None:
        if self.audit is None:
            return
        with contextlib.suppress(OSError):  # a full disk must not cost the operator the session
            self.audit.session_started(
                session_id=started.session_id,
                target=started.target,
                node_name=node_name,
                region=started.region,
                document=started.document,
                reason=started.reason,
                role=self.access_name or self.credentials.role_name,
                local_port=local_port,
                remote_port=remote_port,
                host=host,
            )

    def audit_ended(
        self,
        started: StartedSession,
        how: str,
        seconds: float,
        detail: str,
        local_port: int | None,
        terminated: bool | None,
    ) -> None:
        if self.audit is None:
            return
        with contextlib.suppress(OSError):
            self.audit.session_ended(
                started.session_id,
                started.target,
                str(how),
                seconds,
                detail,
                local_port,
                terminated,
            )


class OpenedShell:
    """A shell session started and its plugin spawned: `run()` hands it the terminal until it
    ends (TerminateSession on every way out); `abandon()` ends it unused."""

    def __init__(
        self,
        sup: SessionSupervisor,
        started: StartedSession,
        runner: ShellRunner,
        closer: Closer,
        started_at: datetime,
        limits: Beside[SessionLimits],
    ) -> None:
        self._sup = sup
        self.started = started
        self._runner = runner
        self._closer = closer
        self._started_at = started_at
        self._limits = limits
        self._handle = ShellSession(started, runner)
        # registered at once: quitting (or an expiry) before the terminal is handed over still
        # stops the plugin and terminates the session
        sup.registry.add(self._handle)

    @property
    def session_id(self) -> str:
        return self.started.session_id

    def abandon(self, why: str) -> None:
        """The terminal was never handed over: stop the plugin and end the session."""
        self._runner.stop(Ending.STOPPED, why)
        self._runner.close()
        self._sup.registry.remove(self._handle)
        self._closer.close(Ending.STOPPED, why)

    def run(self, *, handle_signals: bool = True) -> ShellResult:
        """Blocks until the plugin exits; needs our terminal (a tty on stdin). SIGTERM/SIGHUP
        meanwhile end the session and raise ShutdownRequested (unless `handle_signals` is off:
        the caller's own guard does it)."""
        sup = self._sup
        guard = shutdown_signals(sup._on_shutdown) if handle_signals else contextlib.nullcontext()
        with guard:
            return self._run()

    def _run(self) -> ShellResult:
        sup, runner, closer = self._sup, self._runner, self._closer
        how: str = Ending.CRASHED
        why = "the plugin did not finish"
        result: ShellResult | None = None
        watch = ExpiryWatch(
            sup.clock, sup.session_ends_at, lambda: runner.stop(Ending.EXPIRED, sup.ends_because)
        )
        try:
            result = runner.run()
            how, why = result.how, result.reason
        except ShutdownRequested as e:
            how, why = Ending.INTERRUPTED, f"sessiontui received {e.name}"
            raise
        except KeyboardInterrupt:
            how, why = Ending.INTERRUPTED, "interrupted"
            raise
        except SessiontuiError as e:
            why = e.message
            raise
        finally:
            watch.cancel()
            runner.close()
            sup.registry.remove(self._handle)
            closer.close(how, why)
        end = session_end(
            credentials_end=sup.session_ends_at,
            started_at=self._started_at,
            limits=self._limits.result(),
            idle=False,  # the operator typed: a shell's idle end is not knowable from here
        )
        return replace(
            result, terminated=closer.terminated, terminate_error=closer.error, session_end=end
        )


T = TypeVar("T")


class Beside(Generic[T]):
    """A call run in a daemon thread beside the session, for an answer wanted later; it never
    holds up the way to the prompt, nor the process's exit."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._answer: list[T] = []
        self._thread = threading.Thread(target=lambda: self._answer.append(call()), daemon=True)
        self._thread.start()

    def result(self, timeout: float = 10.0) -> T | None:
        """The answer; None when the call failed or is still out after `timeout` seconds."""
        self._thread.join(timeout)
        return self._answer[0] if self._answer else None


def _target(target: str | Node, node_name: str) -> tuple[str, str]:
    if isinstance(target, Node):
        return target.id, node_name or target.display_name
    return target, node_name


def _last_lines(lines: list[str], n: int = 3) -> str | None:
    tail = [line.strip() for line in lines if line.strip()][-n:]
    return "plugin said: " + " | ".join(tail) if tail else None
