"""`sessiontui --run 'CMD' (--target NAME | --tag K=V | --filter TEXT) ...`: Run Command headless.

stdout carries the results (with --json one JSON line per node as it finishes, else a block per
node); stderr the preview, who is left out and why, and the summary. Exit 0 when every node
succeeded, 7 when some failed, timed out or were undeliverable, 3 when refused, 2 for bad input.
Ctrl-C cancels the command on AWS (CancelCommand) before exiting 130.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sessiontui.core.errors import AuthError, ExitCode, UsageError
from sessiontui.core.run import (
    NodeRun,
    exit_code,
    parse_concurrency,
    parse_errors,
    parse_parameters,
    parse_timeout,
    summary,
)
from sessiontui.core.untrusted import json_text, terminal_lines, terminal_text

if TYPE_CHECKING:
    from sessiontui.core.access import Access
    from sessiontui.core.node import Node
    from sessiontui.operations.run_command import RunSpec
    from sessiontui.runtime import AskCode, Runtime

Say = Callable[[str], None]


def check_args(args: argparse.Namespace) -> None:
    """What `--run` refuses before touching AWS (exit 2)."""
    if not args.run.strip():
        raise UsageError("--run needs a command, e.g. --run 'uptime'")
    if not (args.target or args.tag or args.filter):
        raise UsageError(
            "--run needs nodes: --target NAME, --tag K=V or --filter TEXT",
            "every node at once is one --filter away, on purpose",
        )
    if args.parameter and not args.document:
        raise UsageError("--parameter goes with --document NAME")
    parse_parameters(args.parameter or [])
    parse_concurrency(args.max_concurrency)
    parse_errors(args.max_errors)
    if args.timeout is not None:
        parse_timeout(args.timeout)


def spec_from(args: argparse.Namespace, rt: Runtime, reason: str) -> RunSpec:
    from sessiontui.operations.run_command import RunSpec

    run_config = getattr(rt.config, "run", None)
    return RunSpec(
        script=args.run,
        document=args.document or "",
        parameters=parse_parameters(args.parameter or []),
        max_concurrency=parse_concurrency(args.max_concurrency),
        max_errors=parse_errors(args.max_errors),
        timeout=parse_timeout(args.timeout) if args.timeout else None,
        reason=reason,
        s3_bucket=getattr(run_config, "s3_bucket", "") or "",
        cloudwatch_log_group=getattr(run_config, "cloudwatch_log_group", "") or "",
        # --tag alone says "the nodes with this tag": AWS is asked by tag where it can be
        tags=tuple(_pair(t) for t in args.tag or ()) if not (args.filter or args.target) else (),
    )


def _pair(term: str) -> tuple[str, str]:
    key, _, value = term.partition("=")
    return key, value


def _nodes(rt: Runtime, accesses: list[Access], args: argparse.Namespace, say: Say) -> list[Node]:
    """The nodes --target/--tag/--filter name, across every access held."""
    from sessiontui.aws.inventory import list_fleet, raise_if_failed
    from sessiontui.core.query import parse_query
    from sessiontui.core.target import resolve_target

    if accesses:
        result = rt.list_union(accesses)
    else:
        rt.factory.require_credentials()
        result = list_fleet(rt.factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    nodes = list(result.nodes)
    if args.target:
        return [resolve_target(nodes, args.target)]
    query = parse_query(rt.query_text())
    return [n for n in nodes if query.matches(n)]


def _reason(given: str | None, accesses: list[Access], ask_line: Any) -> str:
    if given and given.strip():
        return given.strip()
    needing = [a.name for a in accesses if a.reason_required]
    if not needing:
        return ""
    answer = ask_line(f"reason (required by {', '.join(needing)}): ") if ask_line else None
    if answer and answer.strip():
        return str(answer).strip()
    raise UsageError(f"{', '.join(needing)} requires a reason", "pass --reason TEXT")


def run_command(
    rt: Runtime,
    args: argparse.Namespace,
    say: Say,
    emit: Say,
    ask: AskCode | None = None,
    ask_line: Callable[[str], str | None] | None = None,
) -> int:
    from sessiontui.operations.run_command import (
        CommandRun,
        document_platforms,
        plan,
        with_document_timeout,
    )
    from sessiontui.stores.runs import RunStore

    default = _config_role(rt)
    roles = rt.roles or ([default] if default else [])
    if roles and not rt.roles:
        say(f"access: {roles[0]} ([run] role in the config; --role chooses another)")
    accesses = [rt.access(name, ask=ask, on_retry=say) for name in roles]
    for held in accesses:
        if held.warning:
            say(f"warning: {held.warning}")
    nodes = _nodes(rt, accesses, args, say)
    if not nodes:
        raise UsageError(f"no node matches {rt.query_text()!r}")
    spec = spec_from(args, rt, _reason(args.reason, accesses, ask_line))
    platforms = (
        document_platforms(_factory(rt, accesses), rt.regions[0], spec.document)
        if (spec.document)
        else None
    )
    if spec.document and not platforms:
        raise UsageError(f"no document {spec.document} in {rt.regions[0]}")
    spec = with_document_timeout(_factory(rt, accesses), rt.regions[0], spec)
    preview, planned = plan(nodes, accesses, spec, platforms)
    for line in preview.lines():
        say(line)
    if not planned:
        if any(o.why.startswith("out of the access's scope") for o in preview.left_out):
            raise AuthError(
                "no node matched is both connectable and in the scope of the access held"
            )
        say(summary([]))
        return int(ExitCode.RUN_FAILED)

    def factory_for(access: Access | None) -> Any:
        return rt.factory_for(access) if access is not None else rt.factory

    run = CommandRun(planned, spec, factory_for, rt.audit, rt.clock)
    try:
        # polled while later batches are still being sent; nodes AWS refused come last
        run.send_and_follow(
            lambda r: emit(_line(r, args.json)),
            on_problem=lambda problem: say(f"not sent: {problem}"),
        )
    except AuthError as err:
        if not accesses:  # the base credentials: say which roles may
            err.hint = _roles_that_may(rt, nodes)
        raise
    except KeyboardInterrupt:
        return _interrupted(run, say, emit, args.json)
    finally:
        with contextlib.suppress(OSError):
            if run.commands:
                RunStore().save(
                    run.commands[0].command_id,
                    run.started or rt.clock.now(),
                    run.record(),
                )
    say(summary(run.runs, run.seconds))
    return exit_code(run.runs)


def _interrupted(run: Any, say: Say, emit: Say, as_json: bool) -> int:
    """Ctrl-C: CancelCommand on AWS for everything still running, then what it came to."""
    say("interrupted: cancelling the command on AWS")
    for problem in run.cancel():
        say(f"could not cancel {problem}")
    with contextlib.suppress(KeyboardInterrupt, Exception):
        import threading

        stop = threading.Event()
        timer = threading.Timer(10.0, stop.set)
        timer.start()
        try:
            run.follow(lambda r: emit(_line(r, as_json)), stop=stop)
        finally:
            timer.cancel()
    say(summary(run.runs, run.seconds))
    return 130


def _line(run: NodeRun, as_json: bool) -> str:
    if as_json:
        return json_text(run.to_json())
    took = f" {run.seconds:.1f}s" if run.seconds is not None else ""
    code = f" exit {run.exit_code}" if run.exit_code is not None else ""
    head = f"== {terminal_text(run.name)} ({run.node_id}, {run.account or '-'} {run.region}): "
    lines = [head + f"{run.status}{code}{took}"]
    lines += [f"   {line}" for line in terminal_lines(run.output)]
    if run.error:
        lines += [f"   stderr: {line}" for line in terminal_lines(run.error)]
    if run.note:
        lines.append(f"   {terminal_text(run.note)}")
    if run.output_cut or run.error_cut:
        where = run.output_url or run.error_url or run.log_streams
        lines.append(
            "   (AWS keeps only the first 24,000 characters of output and 8,000 of errors"
            + (f"; the whole of it: {terminal_text(where)})" if where else ")")
        )
    return "\n".join(lines)


def _config_role(rt: Runtime) -> str | None:
    run_config = getattr(rt.config, "run", None)
    return getattr(run_config, "role", None)


def _roles_that_may(rt: Runtime, nodes: list[Node]) -> str:
    """The hint when the base credentials may not send: the config's roles whose scope and
    account reach every node asked for, narrowest first."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sessiontui.core.scope import in_scope

    account = ""
    with contextlib.suppress(BotoCoreError, ClientError):  # a hint: without it, any account fits
        sts = rt.factory.client("sts", rt.regions[0])
        account = str(sts.get_caller_identity()["Account"])
    roles = getattr(rt.config, "roles", {}) or {}
    fitting = [
        spec
        for spec in roles.values()
        if all(
            in_scope(n, spec.scope) and f":{n.account_id or account}:" in spec.arn for n in nodes
        )
    ]
    fitting.sort(key=lambda spec: -len(spec.scope))
    if not fitting:
        return "pass --role NAME: a role that may send commands to these nodes"
    names = ", ".join(spec.name for spec in fitting)
    return f"roles in the config that reach these nodes: {names} (--role NAME, or [run] role)"


def _factory(rt: Runtime, accesses: list[Access]) -> Any:
    return rt.factory_for(accesses[0]) if accesses else rt.factory
