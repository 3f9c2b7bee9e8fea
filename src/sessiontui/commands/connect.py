"""`sessiontui --connect TARGET [--forward ...]`: the quick jump from a shell or a script.

The terminal stays the CLI's: what this says goes through `say` (stderr, for people) and `emit`
(stdout, the ready line scripts read), and a reason or MFA code is asked through `ask_line`/`ask`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable
from typing import Any

from sessiontui.core.errors import AuthError, ExitCode, NotConnectableError, UsageError
from sessiontui.core.forward_spec import parse_forward
from sessiontui.core.marks import Marks
from sessiontui.core.node import Node
from sessiontui.core.session_end import SessionEnd, left_open
from sessiontui.core.target import resolve_target
from sessiontui.core.untrusted import terminal_text
from sessiontui.runtime import AskCode, Runtime

Say = Callable[[str], None]


def connect(
    rt: Runtime,
    args: argparse.Namespace,
    say: Say,
    emit: Say,
    ask: AskCode | None = None,
    ask_line: Callable[[str], str | None] | None = None,
) -> int:
    spec = parse_forward(args.forward) if args.forward else None
    from sessiontui.plugin.locate import locate_plugin

    # a missing plugin is found before any MFA code is spent
    plugin = locate_plugin(getattr(rt.config, "plugin_path", None))
    if plugin.warning:
        say(f"warning: {plugin.warning}")
    accesses = rt.accesses(ask=ask, on_retry=say) if rt.roles else []
    for held in accesses:
        if held.warning:
            say(f"warning: {held.warning}")
    access = accesses[0] if accesses else None
    from sessiontui.stores.marks import MarksStore

    marks = MarksStore()
    why: str | None = None
    if access is None:
        rt.factory.require_credentials()
        node = _resolve(rt, rt.factory, args.connect, say, marks.load())
    else:
        # one fleet across the roles' accounts; the node's own account's access opens it
        from sessiontui.operations.fleets import access_for

        node = _resolve_union(rt, accesses, args.connect, say, marks.load())
        access, why = access_for(node, accesses)
    from sessiontui.commands.request_access import node_access_for

    asking = access or (accesses[0] if accesses else None)
    jit = node_access_for(rt, rt.factory_for(asking) if asking else rt.factory, node)
    if jit is not None:  # a kept, approved request for this node wins over the roles
        say(f"using just-in-time access {jit.name} (until {jit.ends_at:%H:%M:%S} UTC)")
        access, why = jit, jit.refuses(node)
    if why:
        own = [a.name for a in accesses if a.account_id in ("", node.account_id)]
        names = access.name if access else ", ".join(own or [a.name for a in accesses])
        raise AuthError(f"{node.display_name} ({node.id}) is {why}", f"role {names}")
    factory = rt.factory_for(access) if access else rt.factory
    if not node.connectable:
        raise NotConnectableError(
            f"{node.display_name} ({node.id}) cannot take a session: {node.why}"
        )
    reason = _reason(
        args.reason,
        access.reason_required if access else False,
        access.name if access else "",
        ask_line,
    )

    from sessiontui.plugin.signals import ShutdownRequested

    sup = rt.supervision(plugin).supervisor(
        factory.client("ssm", node.region), access, factory.frozen_credentials
    )
    with contextlib.suppress(OSError):  # a read-only state folder costs the jump nothing
        marks.touch(node.id)
    try:
        if spec is None:
            result = sup.run_shell(node, node_name=node.display_name, reason=reason)
            from sessiontui.core.session_end import shell_time_left

            left = shell_time_left(result.session_end, rt.clock.now())
            say(f"{node.display_name}: {result.reason} after {_took(result.seconds)}{left}")
            _tell_if_left_open(
                say,
                result.session_id,
                result.terminated,
                result.terminate_error,
                result.session_end,
                rt,
            )
            return _exit_code(result.how)
        fw = sup.run_forward(
            node,
            spec.remote_port,
            host=spec.host,
            local_port=spec.local_port,
            node_name=node.display_name,
            reason=reason,
            ready_timeout=float(rt.config.ready_timeout),
            on_ready=lambda f: emit(_ready_line(f, args.json)),
            on_change=_heal_teller(say),
        )
        say(f"forward ended: {fw.reason}")
        return _exit_code(fw.how)
    except ShutdownRequested as stop:
        return 128 + int(stop.signum)


def _tell_if_left_open(
    say: Say,
    session_id: str | None,
    terminated: bool | None,
    error: str,
    end: SessionEnd | None,
    rt: Runtime,
) -> None:
    if terminated is False and session_id:
        say(left_open(session_id, error or "TerminateSession was refused", end, rt.clock.now()))


def _heal_teller(say: Say) -> Callable[[Any], None]:
    """Says on stderr when the forward's session is replaced (stdout keeps its one ready line)."""
    seen: list[tuple[int, str]] = [(0, "")]

    def told(fw: Any) -> None:
        key = (fw.heals, fw.healing)
        if key == seen[0]:
            return
        seen[0] = key
        if fw.healing:
            say(f"forward: {fw.healing}")
        elif fw.heals and fw.is_ready:
            say(
                f"forward healed: new session {fw.session_id} on 127.0.0.1:{fw.local_port} "
                f"({fw.heals} so far)"
            )

    return told


def _exit_code(how: str) -> int:
    """A plugin that crashed, was killed or could not start the session is exit 5 (design.md)."""
    from sessiontui.plugin.output import Ending

    failed = (Ending.KILLED, Ending.CRASHED, Ending.START_FAILED)
    return int(ExitCode.PLUGIN) if how in failed else int(ExitCode.OK)


def _resolve(rt: Runtime, factory: Any, target: str, say: Say, marks: Marks) -> Node:
    from sessiontui.aws.inventory import list_fleet, raise_if_failed

    result = list_fleet(factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return resolve_target(result.nodes, target, marks, rt.list_command())


def _resolve_union(rt: Runtime, accesses: list[Any], target: str, say: Say, marks: Marks) -> Node:
    from sessiontui.aws.inventory import raise_if_failed

    result = rt.list_union(accesses)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return resolve_target(result.nodes, target, marks, rt.list_command())


def _reason(
    given: str | None, required: bool, role: str, ask_line: Callable[[str], str | None] | None
) -> str | None:
    if given and given.strip():
        return given.strip()
    if not required:
        return None
    answer = ask_line(f"reason (required by role {role}): ") if ask_line else None
    if answer and answer.strip():
        return answer.strip()
    raise UsageError(f"role {role} requires a reason", "pass --reason TEXT")


def _ready_line(forward: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(forward.ready_json())
    where = f"{forward.host}:{forward.remote_port}" if forward.host else str(forward.remote_port)
    node = terminal_text(forward.node_name or forward.target)  # a Name tag: shown, never obeyed
    return (
        f"forwarding 127.0.0.1:{forward.local_port} -> {node}:{where}"
        f"  ({forward.client}); Ctrl-C ends it"
    )


def _took(seconds: float) -> str:
    from sessiontui.core.durations import format_duration

    return format_duration(round(seconds))
