"""Standard-stream sessions (AWS-StartSSHSession): the plugin's stdin and stdout are ours.

Under OpenSSH's ProxyCommand, ssh writes the SSH protocol into our stdin and reads it from our
stdout, so the plugin inherits both (no pty, no copying) and its stderr goes to ours or to a log.
Nothing else of ours may reach stdout. The plugin ends when ssh closes its end (stdin EOF);
SIGTERM, SIGHUP (ssh sends it to its proxy when it exits) and SIGINT stop it; on every way out
the supervisor's closer sends TerminateSession.

Signals here only record themselves and stop the plugin; they never raise, so no signal can land
in the middle of StartSession or TerminateSession and cut it short.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from sessiontui.core.errors import PluginError
from sessiontui.core.node import Node
from sessiontui.plugin.command import PluginCommand, build_command
from sessiontui.plugin.output import Ending
from sessiontui.plugin.shell import STOP_GRACE, kill_process

if TYPE_CHECKING:
    from sessiontui.plugin.supervisor import SessionSupervisor

SSH_DOCUMENT = "AWS-StartSSHSession"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@dataclass(frozen=True)
class StreamResult:
    session_id: str
    seconds: float
    how: Ending
    reason: str  # one line for the operator
    exit_status: int | None
    signal_status: int | None
    signum: int | None = None  # the signal that ended it, when one did
    terminated: bool | None = None  # TerminateSession accepted (None: not attempted)
    terminate_error: str = ""


def ssh_document(port: int) -> tuple[str, dict[str, list[str]]]:
    return SSH_DOCUMENT, {"portNumber": [str(port)]}


class StreamRunner:
    """One plugin process with our stdin and stdout; stderr to `stderr` (an fd) or ours."""

    def __init__(self, command: PluginCommand, stderr: int | None = None) -> None:
        self.command = command
        self.stderr = stderr
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped: tuple[Ending, str] | None = None
        # reentrant: a signal handler in the main thread may call stop() while run() holds it
        self._lock = threading.RLock()
        self._done = threading.Event()

    def stop(self, how: Ending, reason: str, grace: float = STOP_GRACE) -> None:
        """End the plugin from anywhere (a signal handler, expiry); run() then returns."""
        with self._lock:
            if self._stopped is None:
                self._stopped = (how, reason)
            proc = self._proc
        if proc is not None:
            threading.Thread(
                target=kill_process, args=(proc.pid, grace, self._done), daemon=True
            ).start()

    def run(self) -> tuple[Ending, str, int | None, int | None]:
        """Blocks until the plugin exits: (how, reason, exit status, signal)."""
        argv = self.command.argv
        with self._lock:
            if self._stopped is not None:  # stopped before it started
                return (*self._stopped, None, None)
            try:
                # stdin/stdout inherited: the SSH stream never passes through this process
                self._proc = subprocess.Popen(argv, env=self.command.env, stderr=self.stderr)
            except OSError as e:
                raise PluginError(f"cannot start session-manager-plugin: {e}") from e
            proc = self._proc
            pending = self._stopped
        if pending is not None:  # stop() came between the check and Popen
            self.stop(*pending)
        try:
            code = proc.wait()
        finally:
            self._done.set()
        exit_status = code if code >= 0 else None
        signal_status = -code if code < 0 else None
        if self._stopped is not None:
            return (*self._stopped, exit_status, signal_status)
        if signal_status:
            return Ending.KILLED, f"plugin killed by signal {signal_status}", None, signal_status
        if exit_status:
            return Ending.CRASHED, f"plugin crashed (exit status {exit_status})", exit_status, None
        return Ending.EXITED, "the connection closed", 0, None


class StreamSession:
    """A running standard-stream session, as the registry (ActiveSessions) sees it."""

    kind = "stream"

    def __init__(self, session_id: str, target: str, runner: StreamRunner) -> None:
        self.session_id = session_id
        self.target = target
        self._runner = runner

    def stop(self, how: Ending, reason: str) -> None:
        self._runner.stop(how, reason)


@contextlib.contextmanager
def _signals_recorded(on_signal: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM/SIGHUP/SIGINT call `on_signal` and return (nothing raised); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        on_signal(signum)

    saved: dict[signal.Signals, Any] = {}
    try:
        for sig in STOP_SIGNALS:
            saved[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def run_stream(
    sup: SessionSupervisor,
    target: str | Node,
    document: str,
    parameters: dict[str, list[str]],
    *,
    node_name: str = "",
    reason: str | None = None,
    stderr: int | None = None,
) -> StreamResult:
    """StartSession with `document`, the plugin on our stdin/stdout until it ends, then
    TerminateSession; see SessionSupervisor.run_stream."""
    from sessiontui.plugin.session_handles import Closer, ExpiryWatch

    target_id = target.id if isinstance(target, Node) else target
    node_name = node_name or (target.display_name if isinstance(target, Node) else "")
    box: dict[str, Any] = {}
    fired: list[int] = []

    def stop(runner: StreamRunner, signum: int) -> None:
        if signum == signal.SIGHUP:  # how ssh ends its ProxyCommand when it exits: a normal end
            runner.stop(Ending.EXITED, "ssh closed the connection (SIGHUP)")
        else:
            runner.stop(Ending.INTERRUPTED, f"sessiontui received {signal.Signals(signum).name}")

    def on_signal(signum: int) -> None:
        first = not fired
        fired.append(signum)
        runner = box.get("runner")
        if first and runner is not None:
            stop(runner, signum)

    with _signals_recorded(on_signal):
        started = sup.start_session(target_id, document, parameters, reason)
        # journalled before anything else can fail: a proxy SIGKILLed from here on leaves the
        # session for the next start to end
        sup.journal_started(started, "ssh", node_name)
        began = time.monotonic()
        closer = Closer(sup, started, began)
        port = (parameters.get("portNumber") or [""])[0]
        sup.audit_started(started, node_name, remote_port=int(port) if port.isdigit() else None)
        how, why = Ending.CRASHED, "the plugin did not finish"
        exit_status: int | None = None
        signal_status: int | None = None
        handle: StreamSession | None = None
        watch: ExpiryWatch | None = None
        try:
            runner = StreamRunner(
                build_command(sup.plugin, started, sup.credentials, sup.base_env), stderr
            )
            box["runner"] = runner
            if fired:  # a signal came while StartSession was under way
                stop(runner, fired[0])
            handle = StreamSession(started.session_id, target_id, runner)
            sup.registry.add(handle)
            watch = ExpiryWatch(
                sup.clock,
                sup.session_ends_at,
                lambda: runner.stop(Ending.EXPIRED, sup.ends_because),
            )
            how, why, exit_status, signal_status = runner.run()
        except PluginError as e:
            why = e.message
            raise
        finally:
            if watch is not None:
                watch.cancel()
            if handle is not None:
                sup.registry.remove(handle)
            closer.close(how, why)
    result = StreamResult(
        session_id=started.session_id,
        seconds=time.monotonic() - began,
        how=how,
        reason=why,
        exit_status=exit_status,
        signal_status=signal_status,
        signum=fired[0] if fired else None,
    )
    return replace(result, terminated=closer.terminated, terminate_error=closer.error)
