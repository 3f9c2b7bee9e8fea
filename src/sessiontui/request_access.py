"""`sessiontui --request-access TARGET --reason TEXT [--role R] [--wait D]`, and the reuse of an
approved request by `--connect`.

The request is filed with StartAccessRequest, kept in the private state folder (access_store),
and GetAccessToken is polled (aws.node_access.wait_for_decision) until it leaves Pending or
`--wait` passes. The state goes to stderr as it changes; one JSON line goes to stdout when the
request is approved (or, with `--wait 0`, still pending): {"access_request_id", "status",
"targets", "expires_at"}. Exit 0 approved; 3 rejected, revoked, expired, or still pending.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sessiontui.core.errors import ExitCode, UsageError
from sessiontui.core.node import Node
from sessiontui.core.node_access import (
    APPROVED,
    PENDING,
    AccessRequest,
    Target,
    check_reason,
    check_target_count,
)

if TYPE_CHECKING:
    from sessiontui.access_store import AccessStore
    from sessiontui.aws.node_access import TokenAnswer
    from sessiontui.core.credentials import Credentials
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


def request_access(rt: Runtime, args: argparse.Namespace, say: Say, emit: Say) -> int:
    from sessiontui.access_store import AccessStore
    from sessiontui.aws.node_access import start_access_request, wait_for_decision

    access = rt.assume_role() if args.role else None
    factory = access.factory if access else rt.factory
    if access is None:
        factory.require_credentials()
    nodes = _resolve_all(rt, factory, list(args.request_access), say)
    regions = {n.region for n in nodes}
    if len(regions) > 1:
        raise UsageError(
            "an access request is regional: these targets are in " + ", ".join(sorted(regions)),
            "request each region's nodes on their own",
        )
    region = nodes[0].region
    ssm = factory.client("ssm", region)
    store = AccessStore()
    wait = parse_wait(args.wait)

    reused = reuse_for(rt, ssm, store, nodes)
    if reused is not None:
        say(f"{reused.request_id}: already Approved for {reused.targets_text()}; reusing it")
        emit(approved_line(reused))
        return 0

    node_ids = tuple(dict.fromkeys(n.id for n in nodes))
    request_id = start_access_request(ssm, args.reason, Target(node_ids=node_ids))
    request = AccessRequest(
        request_id=request_id,
        region=region,
        reason=args.reason,
        node_ids=node_ids,
        names=tuple(n.display_name for n in nodes),
        created_at=rt.clock.now(),
        account_id=str(getattr(nodes[0], "account_id", "") or ""),
    )
    store.put(request)
    audit_requested(rt, request)
    say(f"{request_id}: access requested for {request.targets_text()} ({region})")
    if rt.sandbox is not None:
        from sessiontui.sandbox.approver import approve_command

        say(f"demo approver: {approve_command(request_id)}")

    last = [PENDING]

    def on_poll(status: str, next_in: float) -> None:
        if status == "Throttled":
            say(f"{request_id}: GetAccessToken throttled; next check in {next_in:.0f}s")
        elif status != last[0] or status != PENDING:
            say(f"{request_id}: {status}")
        last[0] = status

    answer = wait_for_decision(ssm, request_id, wait, on_poll=on_poll, clock=rt.clock)
    request = record_answer(rt, store, request, answer)
    if request.status == APPROVED:
        emit(approved_line(request))
        return 0
    if request.status == PENDING:
        say(
            f"{request_id}: still Pending after {_took(wait)}; "
            f"run again to keep waiting (sessiontui --request-access … --wait D)"
            if wait
            else f"{request_id}: Pending; it is kept, and --connect uses it once approved"
        )
        if not wait:
            emit(approved_line(request))
        return int(ExitCode.AUTH)
    say(f"{request_id}: {request.status}; no access to {request.targets_text()}")
    return int(ExitCode.AUTH)


def _took(seconds: int) -> str:
    from sessiontui.core.durations import format_duration

    return format_duration(seconds)


def _resolve_all(rt: Runtime, factory: Any, targets: list[str], say: Say) -> list[Node]:
    from sessiontui.aws.inventory import list_fleet, raise_if_failed
    from sessiontui.core.target import resolve_target

    result = list_fleet(factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return [resolve_target(result.nodes, t) for t in targets]


def record_answer(
    rt: Runtime, store: AccessStore, request: AccessRequest, answer: TokenAnswer
) -> AccessRequest:
    """Keep what GetAccessToken said, and audit a decision the first time it is seen."""
    updated = request.with_status(answer.status, answer.expires_at)
    if updated.status != request.status:
        audit_decided(rt, updated)
    store.put(updated)
    return updated


def audit_requested(rt: Runtime, request: AccessRequest) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        rt.audit.write(
            "access_requested",
            access_request_id=request.request_id,
            region=request.region,
            targets=list(request.node_ids),
            names=list(request.names),
            reason=request.reason,
        )


def audit_decided(rt: Runtime, request: AccessRequest) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        rt.audit.write(
            "access_decided",
            access_request_id=request.request_id,
            status=request.status,
            expires_at=request.expires_at,
        )


# -- reuse -------------------------------------------------------------------------------------------


def reuse_for(rt: Runtime, ssm: Any, store: AccessStore, nodes: list[Node]) -> AccessRequest | None:
    """An approved request in the store that covers every node and still has time, confirmed
    with GetAccessToken (it may have been revoked since)."""
    now = rt.clock.now()
    first = store.reusable(nodes[0].id, nodes[0].region, now)
    if first is None or not all(first.covers(n.id, n.region, now) for n in nodes):
        return None
    answer = _token(ssm, first.request_id)
    if answer is None:
        return None
    request = record_answer(rt, store, first, answer)
    return request if request.status == APPROVED else None


def _token(ssm: Any, request_id: str) -> TokenAnswer | None:
    from botocore.exceptions import ClientError

    from sessiontui.aws.node_access import get_access_token
    from sessiontui.core.errors import SessiontuiError

    try:
        return get_access_token(ssm, request_id)
    except (ClientError, SessiontuiError):
        return None  # throttled, or gone: not reusable now


def token_credentials(rt: Runtime, factory: Any, node: Node) -> tuple[Credentials, str] | None:
    """For `--connect`: the access token's credentials of a kept request that covers `node`
    (approved with time left, or pending and approved since), and its id; None when none does."""
    from sessiontui.access_store import AccessStore

    store = AccessStore()
    now = rt.clock.now()
    candidate = store.reusable(node.id, node.region, now) or store.pending(node.id, node.region)
    if candidate is None:
        return None
    answer = _token(factory.client("ssm", node.region), candidate.request_id)
    if answer is None:
        return None
    request = record_answer(rt, store, candidate, answer)
    if request.status != APPROVED or answer.credentials is None:
        return None
    creds = replace(answer.credentials, role_name=f"jit:{request.request_id}")
    return creds, request.request_id
