"""Session Manager just-in-time node access, as a source of access.

An offer is one of the operator's kept access requests (`oi-…`, access_store): asking for it is
GetAccessToken, and the Access it gives opens only the request's nodes (`Access.targets`) until
the token's ExpirationTime. Filing a new request (`file`) and waiting for its decision (`wait`)
are this source's own: the CLI's --request-access and the TUI's request dialog call them.
Nothing here keeps a credential: the token is asked of AWS whenever it is needed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sessiontui.access.base import Prompts
from sessiontui.core.access import Access, Offer
from sessiontui.core.access_request import (
    APPROVED,
    EXPIRED,
    PENDING,
    REQUEST_ID,
    AccessRequest,
    Target,
    check_reason,
    check_target_count,
)
from sessiontui.core.errors import SessiontuiError, TargetError

if TYPE_CHECKING:
    from sessiontui.access.book import AccessBook
    from sessiontui.aws.access_request_api import TokenAnswer
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.clock import Clock
    from sessiontui.core.node import Node
    from sessiontui.stores.access_requests import AccessStore
    from sessiontui.stores.audit import AuditLog

KIND = "node-access"
ENDS_BECAUSE = "just-in-time access"


def offer_for(request: AccessRequest) -> Offer:
    return Offer(
        name=request.request_id,
        source=KIND,
        detail=f"{request.targets_text()}: {request.reason}",
        fixed_duration=True,  # the policy or the approver decides how long
        account_id=request.account_id,
        needs="approval" if request.status == PENDING else "",
    )


class NodeAccessSource:
    kind = KIND

    def __init__(
        self,
        factory: ClientFactory,  # of the base identity
        clock: Clock,
        audit: AuditLog | None = None,
        store: AccessStore | None = None,
    ) -> None:
        from sessiontui.stores.access_requests import AccessStore

        self.factory = factory
        self.clock = clock
        self.audit = audit
        self.store = store if store is not None else AccessStore()
        self._lock = threading.Lock()
        # the last token per request, in memory only, so a panel refresh does not poll AWS again
        self._tokens: dict[str, TokenAnswer] = {}

    # -- the AccessSource protocol -------------------------------------------------------------

    def offers(self) -> list[Offer]:
        """Kept requests that may still give access: approved with time left, or pending."""
        now = self.clock.now()
        return [
            offer_for(r)
            for r in self.store.load()
            if r.status == PENDING or r.live_status(now) == APPROVED
        ]

    def find(self, name: str) -> Offer | None:
        if not REQUEST_ID.match(name):
            return None
        request = self.store.get(name)
        return offer_for(request) if request is not None else None

    def cached(self, offer: Offer) -> Access | None:
        request = self.store.get(offer.name)
        if request is None or request.live_status(self.clock.now()) != APPROVED:
            return None
        return self.access_for(request)

    def cached_seconds(self, offer: Offer) -> float | None:
        request = self.store.get(offer.name)
        if request is None or request.status != APPROVED:
            return None
        return request.seconds_left(self.clock.now())

    def obtain(self, offer: Offer, duration: int | None, prompts: Prompts) -> Access:
        request = self.store.get(offer.name)
        if request is None:
            raise SessiontuiError(f"no access request {offer.name} is kept here")
        request = self.wait(request, 0, cancel=prompts.cancel)
        access = self.access_for(request)
        if access is None:
            from sessiontui.core.errors import AuthError

            raise AuthError(
                f"access request {request.request_id} is {request.status}",
                "request access again (`a` in the TUI, or --request-access)",
            )
        return access

    def forget(self) -> int:
        return 0  # no credentials are kept; the requests themselves are the operator's record

    # -- requests ------------------------------------------------------------------------------

    def requests(self) -> list[AccessRequest]:
        """The kept requests, newest first (the requests panel)."""
        return self.store.load()

    def is_governed(self, node: Node) -> bool:
        """Whether the node is known to be governed by just-in-time access: StartSession said
        so once, or a kept request names it (AWS took a request for it). No AWS call."""
        if (node.region, node.id) in self.store.governed():
            return True
        return any(r.region == node.region and node.id in r.node_ids for r in self.requests())

    def note_governed(self, node: Node) -> None:
        self.store.note_governed(node.region, node.id)

    def file(
        self,
        reason: str,
        nodes: list[Node],
        tag: tuple[str, str] | None = None,
        factory: ClientFactory | None = None,
    ) -> AccessRequest:
        """StartAccessRequest for `nodes` (or the tag, which matched `nodes` here); kept and audited."""
        from sessiontui.aws.access_request_api import start_access_request
        from sessiontui.core.errors import UsageError

        text = check_reason(reason)
        if tag is None:
            check_target_count(len(nodes))
        if not nodes:
            raise UsageError("no node to request access to")
        regions = {n.region for n in nodes}
        if len(regions) > 1:
            raise UsageError(
                "an access request is regional: these targets are in " + ", ".join(sorted(regions)),
                "request each region's nodes on their own",
            )
        region = nodes[0].region
        node_ids = tuple(dict.fromkeys(n.id for n in nodes))
        target = Target(tag=tag) if tag else Target(node_ids=node_ids)
        ssm = (factory or self.factory).client("ssm", region)
        request_id = start_access_request(ssm, text, target)
        request = AccessRequest(
            request_id=request_id,
            region=region,
            reason=text,
            node_ids=node_ids,
            names=tuple(n.display_name for n in nodes),
            tag=tag,
            created_at=self.clock.now(),
            account_id=str(getattr(nodes[0], "account_id", "") or ""),
        )
        self.store.put(request)
        self._audit(
            "access_requested",
            access_request_id=request_id,
            region=region,
            targets=list(node_ids),
            names=list(request.names),
            tag="=".join(tag) if tag else None,
            reason=text,
        )
        return request

    def wait(
        self,
        request: AccessRequest,
        seconds: float,
        on_poll: Callable[[str, float], None] | None = None,
        cancel: threading.Event | None = None,
        factory: ClientFactory | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> AccessRequest:
        """GetAccessToken until the request leaves Pending or `seconds` pass (0: one poll)."""
        from sessiontui.aws.access_request_api import wait_for_decision

        ssm = (factory or self.factory).client("ssm", request.region)
        answer = wait_for_decision(
            ssm,
            request.request_id,
            seconds,
            on_poll=on_poll,
            clock=self.clock,
            cancel=cancel,
            sleep=sleep,
        )
        return self.record(request, answer)

    def refresh(
        self, request: AccessRequest, factory: ClientFactory | None = None
    ) -> AccessRequest:
        """One GetAccessToken, when it is not throttled; the request as it stands."""
        answer = self._token(request, factory)
        return self.record(request, answer) if answer is not None else request

    def record(self, request: AccessRequest, answer: TokenAnswer) -> AccessRequest:
        """Keep what GetAccessToken said; audit a decision the first time it is seen."""
        updated = request.with_status(answer.status, answer.expires_at)
        if updated.status != request.status:
            self._audit(
                "access_decided",
                access_request_id=updated.request_id,
                status=updated.status,
                expires_at=updated.expires_at,
            )
        with self._lock:
            self.store.put(updated)
        if answer.credentials is not None:
            self._tokens[updated.request_id] = answer
        return updated

    def access_for(
        self, request: AccessRequest, factory: ClientFactory | None = None
    ) -> Access | None:
        """The Access an approved request gives now (asking GetAccessToken), else None."""
        fresh = self._token(request, factory)  # asked each time: it may have been revoked
        if fresh is not None:
            request = self.record(request, fresh)
            answer = fresh
        else:  # throttled just now: the token from a moment ago still holds
            held = self._tokens.get(request.request_id)
            now = self.clock.now()
            if held is None or (held.expires_at or now) <= now:
                return None
            answer = held
        if request.status != APPROVED or answer.credentials is None:
            return None
        creds = replace(answer.credentials, role_name=request.request_id)
        return Access(
            offer_for(request),
            creds,
            creds.expiration,
            ends_because=ENDS_BECAUSE,
            targets=frozenset(request.node_ids),
        )

    def for_node(self, node: Node, factory: ClientFactory | None = None) -> Access | None:
        """Access from a kept request that covers `node`: approved with time left, or pending
        and approved since. None when no kept request does (or AWS says it no longer holds)."""
        now = self.clock.now()
        rows = [r for r in self.store.load() if r.region == node.region and node.id in r.node_ids]
        live = [r for r in rows if r.live_status(now) == APPROVED]
        pending = [r for r in rows if r.status == PENDING]
        for request in sorted(live, key=lambda r: -r.seconds_left(now)) + pending:
            access = self.access_for(request, factory)
            if access is not None:
                return access
        return None

    def note_session(self, request_id: str, session_id: str) -> None:
        self.store.add_session(request_id, session_id)

    # -- helpers -------------------------------------------------------------------------------

    def _token(
        self, request: AccessRequest, factory: ClientFactory | None = None
    ) -> TokenAnswer | None:
        from botocore.exceptions import ClientError

        from sessiontui.aws.access_request_api import get_access_token

        ssm = (factory or self.factory).client("ssm", request.region)
        try:
            return get_access_token(ssm, request.request_id)
        except ClientError:
            return None  # throttled: ask again later
        except TargetError:  # ResourceNotFound: AWS no longer knows it
            from sessiontui.aws.access_request_api import TokenAnswer

            return TokenAnswer(EXPIRED)
        except SessiontuiError:
            return None  # unreachable, refused: not usable now, and nothing to conclude

    def _audit(self, event: str, **fields: Any) -> None:
        if self.audit is not None:
            with contextlib.suppress(OSError, ValueError):
                self.audit.write(event, **fields)


def node_access_source(book: AccessBook | None) -> NodeAccessSource | None:
    """The book's node-access source (access.AccessBook), if it has one."""
    for source in getattr(book, "sources", []):
        if isinstance(source, NodeAccessSource):
            return source
    return None
