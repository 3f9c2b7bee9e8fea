"""`sessiontui --connect TARGET [--forward ...]`: the quick jump from a shell or a script.

The terminal stays the CLI's: what this says goes through `say` (stderr, for people) and `emit`
(stdout, the ready line scripts read), and a reason or MFA code is asked through `ask_line`/`ask`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sessiontui.core.errors import AuthError, ExitCode, NotConnectableError, UsageError
from sessiontui.core.forward_spec import parse_forward
from sessiontui.core.node import Node
from sessiontui.core.target import resolve_target
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
    access = rt.access(ask=ask) if args.role else None
    if access is not None and access.warning:
        say(f"warning: {access.warning}")
    factory = rt.factory_for(access) if access else rt.factory
    if access is None:
        factory.require_credentials()
    node = _resolve(rt, factory, args.connect, say)
    if access is not None and (why := access.refuses(node)):
        raise AuthError(f"{node.display_name} ({node.id}) is {why}", f"role {access.name}")
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
    from sessiontui.plugin.supervisor import SessionSupervisor

    ssm = factory.client("ssm", node.region)
    if access is not None:
        sup = SessionSupervisor.for_access(ssm, access, plugin, audit=rt.audit, clock=rt.clock)
    else:
        sup = SessionSupervisor(
            ssm=ssm,
            credentials=factory.frozen_credentials(),
            plugin=plugin,
            audit=rt.audit,
            clock=rt.clock,
        )
    try:
        if spec is None:
            result = sup.run_shell(node, node_name=node.display_name, reason=reason)
            say(f"{node.display_name}: {result.reason} after {_took(result.seconds)}")
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
        )
        say(f"forward ended: {fw.reason}")
        return _exit_code(fw.how)
    except ShutdownRequested as stop:
        return 128 + int(stop.signum)


def _exit_code(how: str) -> int:
    """A plugin that crashed, was killed or could not start the session is exit 5 (design.md)."""
    from sessiontui.plugin.output import Ending

    failed = (Ending.KILLED, Ending.CRASHED, Ending.START_FAILED)
    return int(ExitCode.PLUGIN) if how in failed else int(ExitCode.OK)


def _resolve(rt: Runtime, factory: Any, target: str, say: Say) -> Node:
    from sessiontui.aws.inventory import list_fleet, raise_if_failed

    result = list_fleet(factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return resolve_target(result.nodes, target)


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
    return (
        f"forwarding 127.0.0.1:{forward.local_port} -> {forward.node_name or forward.target}:{where}"
        f"  ({forward.client}); Ctrl-C ends it"
    )


def _took(seconds: float) -> str:
    from sessiontui.core.durations import format_duration

    return format_duration(round(seconds))
