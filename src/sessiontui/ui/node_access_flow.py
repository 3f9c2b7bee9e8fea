"""Just-in-time node access in the TUI: the request dialog, waiting for the decision in a worker,
the requests panel, and working under an approved request.

An approved request becomes the access held (AccessController), like a role: the header counts
down to the token's ExpirationTime, shells and forwards use the token's credentials and open only
the request's nodes, and at expiry the sessions end as they do when a role expires. The source
itself (`access.node_access`) does the AWS work; this only decides what the operator sees.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from sessiontui.core.access_request import APPROVED, MAX_TARGETS, PENDING, AccessRequest
from sessiontui.core.durations import format_remaining
from sessiontui.core.errors import SessiontuiError

if TYPE_CHECKING:
    from textual.app import App

    from sessiontui.access.node_access import NodeAccessSource
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.access import Access
    from sessiontui.core.node import Node
    from sessiontui.ui.access import AccessController
    from sessiontui.ui.screens.access_request import AccessAsk
    from sessiontui.ui.services import AppServices
    from sessiontui.ui.widgets.node_list import NodeList

WAIT_SECONDS = 15 * 60  # how long a worker polls a pending request (as --request-access waits)


class AccessRequestChanged(Message):
    """A worker heard something about a request: filed, its state, an error, or its access."""

    def __init__(
        self,
        request: AccessRequest | None,
        *,
        access: Access | None = None,
        error: str = "",
        then: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.request = request
        self.access = access
        self.error = error
        self.then = then


def mark_target(host: App[Any], nodes: NodeList) -> None:
    """space: mark the cursor's node as one of several targets: any number for a command run
    (`e`); an access request (`a`) checks its own limit of five when it is asked for."""
    node = nodes.selected_node
    if node is None:
        return
    nodes.toggle_mark(node)


def target_text(node: Node, listed: list[Node]) -> str:
    """How the dialog names a node: its Name where that finds it alone, else its id."""
    if node.name and sum(1 for n in listed if n.name == node.name) == 1:
        return node.name
    return node.id


class NodeAccessController:
    def __init__(
        self,
        host: App[Any],
        services: AppServices,
        access: AccessController,
        nodes: Callable[[], list[Node]],
        selected: Callable[[], Node | None],
    ) -> None:
        self.host = host
        self.services = services
        self.access = access
        self.nodes = nodes  # the fleet as listed, to resolve what the dialog names
        self.selected = selected
        self._cancel = threading.Event()  # set on quit: pending waits stop polling
        self._announced: set[str] = set()
        # told when what Enter does on a node may have changed (the details pane says it)
        self.on_change: Callable[[], None] = lambda: None
        access.request_again = self.request_again

    def request_again(self, expired: Access) -> None:
        """The held request expired and the operator wants its nodes again: the dialog,
        filled with them."""
        listed = self.nodes()
        targets = [n for n in listed if expired.targets is not None and n.id in expired.targets]
        self.request(
            None,
            why=f"access request {expired.name} expired: file a new one for its nodes",
            marked=targets[:MAX_TARGETS],
        )

    def _factory(self, account_id: str) -> ClientFactory | None:
        """Whose credentials ask AWS about a request in `account_id`: the role or permission
        set held for that account (a request is the requester's, in its own account), else
        the base identity (None)."""
        from sessiontui.access.node_access import KIND

        if not account_id:
            return None
        for held in self.access.alive():
            found = held.access
            if found.offer.source != KIND and found.account_id == account_id:
                return held.factory
        return None

    @property
    def source(self) -> NodeAccessSource:
        from sessiontui.access.node_access import node_access_source

        found = node_access_source(self.access.book)
        if found is None:
            raise SessiontuiError("just-in-time node access is not available")
        return found

    def requests(self) -> list[AccessRequest]:
        try:
            return self.source.requests()
        except SessiontuiError:
            return []

    # ---- asking --------------------------------------------------------------------------

    def request(
        self,
        node: Node | None,
        why: str = "",
        then: Callable[[], None] | None = None,
        *,
        marked: list[Node] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        """Open the dialog for the marked nodes, else `node` (or the selected one); file the
        request in a worker."""
        from sessiontui.ui.screens.access_request import AccessRequestScreen

        node = node or self.selected()
        targets = marked or ([node] if node is not None else [])
        listed = self.nodes()
        prefill = ", ".join(target_text(n, listed) for n in targets)

        def answered(ask: AccessAsk | None) -> None:
            if ask is not None:
                if on_sent is not None:
                    on_sent()
                self._file(ask, then)

        self.host.push_screen(
            AccessRequestScreen(prefill, why=why, reason=self.services.reason or ""), answered
        )

    def offer_after_refusal(self, node: Node, message: str, then: Callable[[], None]) -> None:
        """StartSession said the node is governed by just-in-time access: say why, and ask."""
        with contextlib.suppress(SessiontuiError, OSError):
            self.source.note_governed(node)  # remembered: a scoped role refuses it before AWS
        self.on_change()
        if node.name and node.id in message:  # AWS names the id; the operator knows the name
            message = message.replace(node.id, f"{node.display_name} ({node.id})", 1)
        self.request(node, why=message, then=then)

    def offer_if_governed(self, node: Node, why: str, then: Callable[[], None]) -> bool:
        """The access held refuses `node` before StartSession (scope, account, other
        targets); when the node is known to be governed by just-in-time access, say why and
        offer the request instead of only refusing. True when offered."""
        try:
            governed = self.source.is_governed(node)
        except SessiontuiError:
            return False
        if not governed:
            return False
        held = self.access.active
        cannot = f"{held.name} cannot open it ({why}); " if held is not None else ""
        self.request(
            node,
            why=f"{node.display_name}: {cannot}it is governed by just-in-time node access, so "
            "an approved access request can",
            then=then,
        )
        return True

    def _resolve(self, ask: AccessAsk) -> tuple[list[Node], tuple[str, str] | None]:
        from sessiontui.core.query import parse_query
        from sessiontui.core.target import resolve_target

        listed = self.nodes()
        if len(ask.targets) == 1 and "=" in ask.targets[0]:
            key, _, value = ask.targets[0].partition("=")
            query = parse_query(ask.targets[0])
            matched = [n for n in listed if query.matches(n)]
            if not matched:
                raise SessiontuiError(f"no listed node carries {ask.targets[0]}")
            return matched, (key.strip(), value.strip())
        return [resolve_target(listed, t) for t in ask.targets], None

    def _file(self, ask: AccessAsk, then: Callable[[], None] | None) -> None:
        try:
            nodes, tag = self._resolve(ask)
        except SessiontuiError as exc:
            self.host.notify("\n".join(exc.lines()), title="access request", severity="error")
            return
        if tag is not None:  # a tag target is one region's: the selected node's, else the first
            sel = self.selected()
            region = sel.region if sel is not None else nodes[0].region
            nodes = [n for n in nodes if n.region == region]
        source = self.source
        factory = self._factory(str(getattr(nodes[0], "account_id", "") or "")) if nodes else None

        def work() -> None:
            try:
                request = source.file(ask.reason, nodes, tag=tag, factory=factory)
            except SessiontuiError as exc:
                self.host.post_message(AccessRequestChanged(None, error="\n".join(exc.lines())))
                return
            self._wait(request, then)  # its first poll says whether it is Pending at all

        self.host.run_worker(work, thread=True, group="access-request", exit_on_error=False)

    def _wait(self, request: AccessRequest, then: Callable[[], None] | None) -> None:
        """In a worker: poll until decided, then fetch the access an approval gives."""
        source = self.source

        def on_poll(status: str, _next: float) -> None:
            if status not in (PENDING, "Throttled"):
                return
            with contextlib.suppress(Exception):
                kept = source.store.get(request.request_id)
                if kept is not None:
                    self.host.post_message(AccessRequestChanged(kept))

        factory = self._factory(request.account_id)
        try:
            decided = source.wait(
                request, WAIT_SECONDS, on_poll=on_poll, cancel=self._cancel, factory=factory
            )
            access = source.access_for(decided, factory) if decided.status == APPROVED else None
        except SessiontuiError as exc:
            self.host.post_message(AccessRequestChanged(request, error="\n".join(exc.lines())))
            return
        self.host.post_message(AccessRequestChanged(decided, access=access, then=then))

    # ---- what the workers say --------------------------------------------------------------

    def changed(self, message: AccessRequestChanged) -> None:
        request = message.request
        if message.error:
            self.host.notify(message.error, title="access request", severity="error", timeout=10)
        elif request is not None and request.status == PENDING:
            if request.request_id not in self._announced:
                self._announced.add(request.request_id)
                self.host.notify(self._pending_text(request), title="access requested", timeout=15)
        elif request is not None and message.access is not None:
            self.work_under(message.access)
            if message.then is not None:
                message.then()
        elif request is not None:
            self.host.notify(
                f"{request.request_id} is {request.status}: no access to {request.targets_text()}",
                title="access request",
                severity="error",
                timeout=10,
            )
        self._refresh_panel()
        self.on_change()

    def _pending_text(self, request: AccessRequest) -> str:
        text = f"{request.request_id} for {request.targets_text()}: Pending, waiting for approval"
        runtime = self.services.runtime
        sandbox = runtime.sandbox if runtime is not None else None
        if sandbox is not None:
            from sessiontui.demo import approve_command

            command = approve_command(request.request_id, sandbox.endpoint_url)
            text += f"\ndemo approver: {command}"
        return text

    def work_under(self, access: Access) -> None:
        left = access.remaining(self.services.clock.now())
        until = f" for {format_remaining(left)}" if left is not None else ""
        self.access.activate(access)
        self.host.notify(
            f"access request {access.name} approved{until}: shells and forwards on its nodes "
            "use it",
            title="just-in-time access",
        )

    def enter_note(self, node: Node) -> tuple[str, bool]:
        """What Enter does on `node` as far as just-in-time access goes, for the details pane
        (a governed node is Online, and "connectable" misled there), and whether an approved
        request opens it (then the role's scope does not stand in the way). ("", False) when
        node access has nothing to say. No AWS call: the kept requests and governed nodes."""
        held = self.access.active
        if held is not None and held.access.targets is not None and node.id in held.access.targets:
            return f"access request {held.name} is held: Enter opens a shell under it", True
        if not self.access.book_settled:
            return "", False  # the pane asks again once the start-up worker has built the book
        approved = self.covering(node)
        if approved is not None:
            return (
                f"access request {approved.request_id} approved: Enter opens a shell under it",
                True,
            )
        pending = next(
            (
                r
                for r in self.requests()
                if r.status == PENDING and r.region == node.region and node.id in r.node_ids
            ),
            None,
        )
        if pending is not None:
            return (
                f"access request {pending.request_id} is pending approval (A: the requests)",
                False,
            )
        try:
            governed = self.source.is_governed(node)
        except SessiontuiError:
            return "", False
        if governed:  # StartSession refuses it to any role
            return "governed by just-in-time node access: Enter offers an access request", False
        return "", False

    def covering(self, node: Node) -> AccessRequest | None:
        """A kept request approved with time left that names `node` (no AWS call)."""
        now = self.services.clock.now()
        for request in self.requests():
            if request.covers(node.id, node.region, now) and request.status == APPROVED:
                return request
        return None

    def use(self, request: AccessRequest, then: Callable[[], None] | None = None) -> None:
        """Work under a kept request (the panel's Enter, or a node it covers): ask AWS in a
        worker, since it may have been revoked or decided since."""
        source = self.source
        factory = self._factory(request.account_id)

        def work() -> None:
            try:
                updated = source.refresh(request, factory)
                access = source.access_for(updated, factory) if updated.status == APPROVED else None
            except SessiontuiError as exc:
                self.host.post_message(AccessRequestChanged(request, error="\n".join(exc.lines())))
                return
            if updated.status == PENDING:
                self.host.post_message(AccessRequestChanged(updated))
                self._wait(updated, then)
                return
            self.host.post_message(AccessRequestChanged(updated, access=access, then=then))

        self.host.run_worker(work, thread=True, group="access-use", exit_on_error=False)

    def check_all(self) -> None:
        """Ask AWS about every kept request still Pending or Approved (the panel's g)."""
        source = self.source
        rows = [r for r in self.requests() if r.status in (PENDING, APPROVED)]

        factories = [self._factory(r.account_id) for r in rows]

        def work() -> None:
            for request, factory in zip(rows, factories, strict=True):
                with contextlib.suppress(SessiontuiError):
                    source.refresh(request, factory)
            self.host.post_message(AccessRequestChanged(None))

        self.host.run_worker(work, thread=True, group="access-check", exit_on_error=False)

    def show_panel(self) -> None:
        from sessiontui.ui.screens.access_requests import AccessRequestsScreen

        if not isinstance(self.host.screen, AccessRequestsScreen):
            self.host.push_screen(AccessRequestsScreen(self, self.services.clock))

    def _refresh_panel(self) -> None:
        from sessiontui.ui.screens.access_requests import AccessRequestsScreen

        if isinstance(self.host.screen, AccessRequestsScreen):
            self.host.screen.refresh_rows()

    def stop(self) -> None:
        self._cancel.set()
