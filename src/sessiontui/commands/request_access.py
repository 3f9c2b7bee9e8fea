"""`sessiontui --request-access TARGET --reason TEXT [--role R] [--wait D]`, and the reuse of an
approved request by `--connect`.

The request is filed with StartAccessRequest, kept in the private state folder (access_store),
and GetAccessToken is polled (aws.access_request_api.wait_for_decision) until it leaves Pending or
`--wait` passes. The state goes to stderr as it changes; one JSON line goes to stdout when the
request is approved (or, with `--wait 0`, still pending): {"access_request_id", "status",
"targets", "expires_at"}. Exit 0 approved; 3 rejected, revoked, expired, or still pending.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sessiontui.core.access_request import (
    APPROVED,
    PENDING,
    AccessRequest,
    check_reason,
    check_target_count,
)
from sessiontui.core.errors import ExitCode, SessiontuiError
from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.access.node_access import NodeAccessSource
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.access import Access
    from sessiontui.runtime import Runtime

Say = Callable[[str], None]
DEFAULT_WAIT = 15 * 60


def parse_wait(text: str | None) -> int:
    if text is None:
        return DEFAULT_WAIT
    if text.strip() in ("0", "0s", "0m"):
        return 0
    from sessiontui.core.durations import parse_duration

    return parse_duration(text)


def check_args(args: argparse.Namespace) -> None:
    """What can be refused before any AWS call (cli._check_args)."""
    targets = args.request_access or []
    check_target_count(len(targets))
    args.reason = check_reason(args.reason)
    parse_wait(args.wait)


def approved_line(request: AccessRequest) -> str:
    return json.dumps(
        {
            "access_request_id": request.request_id,
            "status": request.status,
            "targets": list(request.node_ids),
            "expires_at": _iso(request.expires_at),
        }
    )


def _iso(when: Any) -> str | None:
    from datetime import UTC

    if when is None:
        return None
    return str(when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))


def source_of(rt: Runtime) -> NodeAccessSource:
    from sessiontui.access.node_access import node_access_source

    source = node_access_source(rt.access_book)
    if source is None:  # build_book always adds it; a book without it is a programming error
        raise SessiontuiError("just-in-time node access is not available in this run")
    return source


def request_access(rt: Runtime, args: argparse.Namespace, say: Say, emit: Say) -> int:
    access = rt.access() if args.role else None
    if access is not None and access.warning:
        say(f"warning: {access.warning}")
    factory = rt.factory_for(access) if access else rt.factory
    if access is None:
        factory.require_credentials()
    nodes = _resolve_all(rt, factory, list(args.request_access), say)
    source = source_of(rt)
    wait = parse_wait(args.wait)

    reused = _reusable(source, nodes, factory)
    if reused is not None:
        say(f"{reused.request_id}: already Approved for {reused.targets_text()}; reusing it")
        emit(approved_line(reused))
        return 0

    request = source.file(args.reason, nodes, factory=factory)
    request_id = request.request_id
    say(f"{request_id}: access requested for {request.targets_text()} ({request.region})")
    if rt.sandbox is not None:
        from sessiontui.demo import approve_command

        say(f"demo approver: {approve_command(request_id, rt.sandbox.endpoint_url)}")

    last = [PENDING]

    def on_poll(status: str, next_in: float) -> None:
        if status == "Throttled":
            say(f"{request_id}: GetAccessToken throttled; next check in {next_in:.0f}s")
        elif status != last[0] or status != PENDING:
            say(f"{request_id}: {status}")
        last[0] = status

    request = source.wait(request, wait, on_poll=on_poll, factory=factory)
    if request.status == APPROVED:
        emit(approved_line(request))
        return 0
    if request.status == PENDING:
        if wait:
            say(f"{request_id}: still Pending after {_took(wait)}; it is kept")
        else:
            say(f"{request_id}: Pending; it is kept, and --connect uses it once approved")
            emit(approved_line(request))
        return int(ExitCode.AUTH)
    say(f"{request_id}: {request.status}; no access to {request.targets_text()}")
    return int(ExitCode.AUTH)


def _reusable(
    source: NodeAccessSource, nodes: list[Node], factory: ClientFactory
) -> AccessRequest | None:
    """A kept approved request that covers every node, confirmed with GetAccessToken."""
    access = source.for_node(nodes[0], factory)
    if access is None or access.targets is None:
        return None
    if not all(n.id in access.targets for n in nodes):
        return None
    return source.store.get(access.name)


def _took(seconds: int) -> str:
    from sessiontui.core.durations import format_duration

    return format_duration(seconds)


def _resolve_all(rt: Runtime, factory: Any, targets: list[str], say: Say) -> list[Node]:
    """Each target asked of AWS by id or tag, all at once (operations.target_lookup); the fleet
    is listed, once, only for a target that finds nothing exact."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sessiontui.aws.inventory import list_fleet
    from sessiontui.operations.target_lookup import find_node

    listed: list[Any] = []
    lock = threading.Lock()

    def listing() -> Any:
        with lock:
            if not listed:
                listed.append(list_fleet(factory, rt.regions))
            return listed[0]

    def one(target: str) -> Node:
        return find_node(
            [(factory, None)],
            rt.regions,
            target,
            listing=listing,
            say=say,
            list_command=rt.list_command(),
        )

    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        return list(pool.map(one, targets))


def node_access_for(rt: Runtime, factory: ClientFactory, node: Node) -> Access | None:
    """For `--connect`: access from a kept request that covers `node`, if one does."""
    return source_of(rt).for_node(node, factory)
