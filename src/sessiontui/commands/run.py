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
    from sessiontui.core.durations import parse_duration

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
        seconds = parse_duration(args.timeout)
        if seconds > 172800:
            raise UsageError(f"--timeout {args.timeout} is over AWS's 48 hours")


def spec_from(args: argparse.Namespace, rt: Runtime, reason: str) -> RunSpec:
    from sessiontui.core.durations import parse_duration
    from sessiontui.operations.run_command import RunSpec

    run_config = getattr(rt.config, "run", None)
    return RunSpec(
        script=args.run,
        document=args.document or "",
        parameters=parse_parameters(args.parameter or []),
        max_concurrency=parse_concurrency(args.max_concurrency),
        max_errors=parse_errors(args.max_errors),
        timeout=parse_duration(args.timeout) if args.timeout else None,
        reason=reason,
        s3_bucket=getattr(run_config, "s3_bucket", "") or "",
        cloudwatch_log_group=getattr(run_config, "cloudwatch_log_group", "") or "",
    )


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
    from sessiontui.operations.run_command import CommandRun, document_platforms, plan
    from sessiontui.stores.runs import RunStore

    accesses = rt.accesses(ask=ask, on_retry=say) if rt.roles else []
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
    for problem in run.send():
        say(f"not sent: {problem}")
    for r in run.runs:
        if r.done:  # refused at SendCommand: said now, as they will never finish later
            emit(_line(r, args.json))
    try:
        run.follow(lambda r: emit(_line(r, args.json)))
    except KeyboardInterrupt:
        return _interrupted(run, say, emit, args.json)
    finally:
        with contextlib.suppress(OSError):
            RunStore().save(
                run.commands[0].command_id if run.commands else "run",
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
        where = run.output_url or run.error_url
        lines.append(
            "   (AWS keeps only the first 24,000 characters of output and 8,000 of errors"
            + (f"; the whole of it: {terminal_text(where)})" if where else ")")
        )
    return "\n".join(lines)


def _factory(rt: Runtime, accesses: list[Access]) -> Any:
    return rt.factory_for(accesses[0]) if accesses else rt.factory
