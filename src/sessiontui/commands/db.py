"""`sessiontui --db NAME [--json]` and `--db NAME --client`: a database through its bastion.

The ready line goes to stdout (one JSON object with --json); what happens on the way goes to
stderr through `say`. With --client the engine's client runs in the foreground, signed in through
its environment, and the forward ends when it exits (its exit status is ours).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from sessiontui.core.errors import ExitCode, NotConnectableError, PluginError, UsageError
from sessiontui.core.forwards import Forward
from sessiontui.core.untrusted import terminal_text
from sessiontui.operations.database_tunnel import (
    Place,
    SignIn,
    bastions,
    client_argv,
    find_databases,
    pick,
    place_of,
)
from sessiontui.runtime import AskCode, Runtime

Say = Callable[[str], None]


def run_db(rt: Runtime, args: argparse.Namespace, say: Say, emit: Say, ask: AskCode | None) -> int:
    from sessiontui.plugin.locate import locate_plugin

    plugin = locate_plugin(rt.config.plugin_path)
    if plugin.warning:
        say(f"warning: {plugin.warning}")
    accesses = rt.accesses(ask=ask, on_retry=say) if rt.roles else []
    for held in accesses:
        if held.warning:
            say(f"warning: {held.warning}")
    if accesses:
        places = [
            Place(rt.factory_for(a).client, region, a.account_id, a)
            for a in accesses
            for region in rt.regions
        ]
    else:
        rt.factory.require_credentials()
        places = [Place(rt.factory.client, region, "", None) for region in rt.regions]
    databases, errors = find_databases(places)
    for err in errors:
        say(f"warning: {err}")
    chosen = pick(databases, rt.config.databases, args.db)
    db = chosen.database
    place = place_of(db, places)
    if args.client and not shutil.which(client_argv(chosen, "x", 1)[0]):
        raise UsageError(f"{client_argv(chosen, 'x', 1)[0]} is not installed")
    nodes = _nodes(rt, accesses, say)
    from sessiontui.operations.fleets import access_for
    from sessiontui.stores.marks import MarksStore

    marks = MarksStore()
    choices = bastions(
        chosen,
        nodes,
        place,
        marks.load().recent,
        lambda n: not accesses or access_for(n, accesses)[0] is not None,
    )
    if not choices:
        raise NotConnectableError(
            f"no connectable node in {db.vpc_id or 'its VPC'} that the access may open can reach "
            f"{db.label}"
        )
    best = choices[0]
    node = best.node
    say(
        f"{chosen.name}: {db.engine} at {db.host}:{db.port}, through {node.display_name} ({best.reason})"
    )
    access = access_for(node, accesses)[0] if accesses else None
    factory = rt.factory_for(access) if access else rt.factory
    sign_in = SignIn(chosen, Place(factory.client, db.region, db.account_id, access))
    sign_in.password()  # a refused token or secret is said before any session starts
    from sessiontui.plugin.healing import start_healing_forward
    from sessiontui.plugin.output import Ending

    sup = rt.supervision(plugin).supervisor(
        factory.client("ssm", node.region), access, factory.frozen_credentials
    )
    local = chosen.preset.local_port if chosen.preset and chosen.preset.local_port else 0
    if access is not None and access.reason_required and not args.reason:
        raise UsageError(f"role {access.name} requires a reason", "pass --reason TEXT")
    session = start_healing_forward(
        sup,
        node,
        db.port,
        host=db.host,
        local_port=local,
        node_name=node.display_name,
        reason=args.reason,
        ready_timeout=float(rt.config.ready_timeout),
    )
    try:
        fw = session.wait_ready()
        if not fw.is_ready:
            fw = session.wait(timeout=10)
            raise PluginError(f"the database tunnel did not start: {fw.reason}")
        with _suppress_os():
            marks.touch(node.id)
        emit(_ready_line(fw, chosen, sign_in, args.json))
        if args.client:
            argv = client_argv(chosen, sign_in.user, fw.local_port or 0)
            env = {**os.environ, **sign_in.env()}
            code = subprocess.call(argv, env=env)
            session.stop(Ending.STOPPED, f"{argv[0]} exited")
            return code
        while not session.wait(timeout=0.5).ended:
            pass
        say(f"tunnel ended: {session.forward.reason}")
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        session.stop(Ending.STOPPED, "stopped with Ctrl-C")
        return int(ExitCode.OK)
    finally:
        if not session.forward.ended:
            session.stop(Ending.INTERRUPTED, "sessiontui is exiting")


def _suppress_os() -> Any:
    import contextlib

    return contextlib.suppress(OSError)


def _nodes(rt: Runtime, accesses: list[Any], say: Say) -> list[Any]:
    from sessiontui.aws.inventory import list_fleet, raise_if_failed

    result = rt.list_union(accesses) if accesses else list_fleet(rt.factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return list(result.nodes)


def _ready_line(fw: Forward, chosen: Any, sign_in: SignIn, as_json: bool) -> str:
    db = chosen.database
    data = {
        "name": chosen.name,
        "engine": db.engine,
        "host": db.host,
        "remote_port": db.port,
        "local_port": fw.local_port,
        "user": sign_in.user,
        "database": chosen.dbname,
        "auth": sign_in.auth,
        "password_source": sign_in.source,
        "bastion": fw.target,
        "session_id": fw.session_id,
        **{
            k: v
            for k, v in fw.ready_json().items()
            if k in ("expires_at", "ends_at", "ends_because")
        },
    }
    if as_json:
        return json.dumps(data)
    return terminal_text(
        f"{chosen.name} ({db.engine}) on 127.0.0.1:{fw.local_port} as {sign_in.user or '?'}, "
        f"auth {sign_in.auth} ({sign_in.source}), until {data['ends_at']}; Ctrl-C ends it"
    )


__all__ = ["run_db"]
