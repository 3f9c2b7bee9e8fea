"""The fleet screen: header, filter, node list, details, footer; listing runs in a worker."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Input, Static

from sessiontui.core.access import noun
from sessiontui.core.facets import facet_counts
from sessiontui.core.node import Node
from sessiontui.ui.collector import (
    RECLAIM,
    listing_done,
    screen_closed,
    settle_memory,
    startup_done,
)
from sessiontui.ui.compositor import CroppedCompositor
from sessiontui.ui.keys import MAIN_BINDINGS
from sessiontui.ui.listing_worker import list_accounts
from sessiontui.ui.messages import (
    CachedRestLoaded,
    ListingFinished,
    NodesArrived,
    RegionFailed,
)
from sessiontui.ui.screens.facets import FacetsScreen
from sessiontui.ui.services import FIRST_PAGE, AppServices
from sessiontui.ui.widgets.details import NodeDetails
from sessiontui.ui.widgets.footer import SteadyFooter
from sessiontui.ui.widgets.header import StatusHeader
from sessiontui.ui.widgets.node_list import NodeList

if TYPE_CHECKING:
    from textual.timer import Timer

    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.access import Access
    from sessiontui.ui.app import SessiontuiApp


_NOTHING = object()  # no details update pending (None means "no node selected")


class FilterInput(Input):
    """The filter line; Escape hands the keyboard back to the list (a screen binding)."""


APPLY_EVERY = 0.1  # seconds between two applications of arriving pages
# rows applied in one turn: 400 cost up to 13 ms of the UI thread at 10,000 nodes, and a key
# that came meanwhile waited for all of it (bench.live); 150 are about 5 ms
APPLY_AT_MOST = 150
APPLY_NEXT = 1 / 60  # seconds from one turn to the next while more rows wait: a frame between


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS
    # below 100 columns the details go under the list (app.tcss): beside it they left the
    # list NAME and PING at 80 columns
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (100, "-wide"),
    ]

    def __init__(self, services: AppServices) -> None:
        super().__init__(id="main")
        self._compositor = CroppedCompositor()  # before anything is laid out in it
        self.services = services
        self._generation = 0
        self._listing = False
        self._listed_regions: list[str] = []
        self._arrived = 0
        self._arriving: list[Node] = []  # pages not yet in the list
        self._finishing: ListingFinished | None = None  # the listing's end, after its last pages
        self._applied_at = 0.0  # time.monotonic() of the last pages applied
        self._apply_timer: Timer | None = None  # the next turn of arriving rows
        self._failed: dict[str, str] = {}
        self._preferences_asked = False
        self._closing = False
        self._details_pending: object = _NOTHING
        self._cancel_listing = threading.Event()

    @property
    def tui(self) -> SessiontuiApp:
        # a cast, not an import: the app composes this screen, so the screen may not import it
        return cast("SessiontuiApp", self.app)

    # ---- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        svc = self.services
        yield StatusHeader(svc.clock, svc.profile_label, svc.regions, id="header")
        if svc.demo_banner:
            yield Static(svc.demo_banner, id="demo-banner")
        yield FilterInput(
            value=svc.initial_query(),
            placeholder="/ filter: words, K=V tags, iam:ROLE, ping:online, region:eu",
            id="filter",
        )
        with Horizontal(id="body"):
            yield NodeList(id="nodes", on_highlight=self._highlighted)
            yield NodeDetails(id="details")
        # the palette's key is an ordinary binding (with an id, so a keymap can move it); the
        # footer's own palette entry would show ctrl+p a second time
        yield SteadyFooter(show_command_palette=False)

    # ---- the access held (AccessView) --------------------------------------------------------

    def show_access(self, access: Access | None) -> None:
        # before the screen is composed there is nothing to show it on; show_role() comes later
        with contextlib.suppress(NoMatches):
            if access is None:
                self.header.set_role(None, None)
                self.node_list.set_scope(None)
            else:
                held = self.tui.access if self.is_attached else None  # none before the app runs
                # the other accounts' accesses: each counts down on its own
                others = tuple((h.name, h.access.ends_at) for h in held.others()) if held else ()
                self.header.set_role(
                    access.name, access.ends_at, access.ends_because, others, noun(access.offer)
                )
                self.node_list.set_scope(access.scope)
                # an Identity Center role lives in its own account: list what the accounts have
                listed = held.listing_key() if held is not None else ()
                if listed and listed != getattr(self, "_listed_accounts", ()):
                    self._listed_accounts = listed
                    self.refresh_fleet()

    def show_expired(self, name: str) -> None:
        with contextlib.suppress(NoMatches):
            self.header.set_expired(name)

    def show_forwards(self) -> None:
        """A forward changed: the header's countdown may have a new end. Its last word can come
        while the app quits, after the header is gone."""
        with contextlib.suppress(NoMatches):
            self.header.refresh()

    @property
    def node_list(self) -> NodeList:
        return self.query_one(NodeList)

    @property
    def header(self) -> StatusHeader:
        return self.query_one(StatusHeader)

    @property
    def details(self) -> NodeDetails:
        return self.query_one(NodeDetails)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def on_mount(self) -> None:
        svc = self.services
        nodes = self.node_list
        nodes.set_query(self.filter_input.value)
        if svc.cached_nodes:
            nodes.set_nodes(svc.cached_nodes, stale=True)
            age = svc.cached_age_seconds or 0.0
            self.header.set_stale(svc.clock.time() - age)
        nodes.focus()
        self.call_after_refresh(startup_done)
        self.set_interval(1.0, self.tick)
        if svc.cached_rest is not None:
            # after the first frame: decoding holds the GIL and would delay that frame
            rest = svc.cached_rest
            self.call_after_refresh(lambda: self._load_cached_rest(rest))
        else:
            self.refresh_fleet()
        self.tui.access.show_role()

    @work(thread=True, group="inventory-cache", exit_on_error=False)
    def _load_cached_rest(self, load: Callable[[], list[Node] | None]) -> None:
        try:
            nodes = load()
        finally:
            self.post_message(CachedRestLoaded(nodes or []))

    @on(CachedRestLoaded)
    def _cached_rest_loaded(self, message: CachedRestLoaded) -> None:
        if message.nodes:
            # before the refresh starts, so no fresh row is ever replaced by a stale one
            self.node_list.set_nodes(message.nodes, stale=True)
            settle_memory()
        self.refresh_fleet()

    def on_unmount(self) -> None:
        self._closing = True
        self._cancel_listing.set()  # quitting must not wait for the rest of a large fleet
        listing_done()
        screen_closed()

    def tick(self) -> None:
        """Once a second: the countdown and the cache age move on."""
        self.header.refresh()
        self.details.tick()
        self.tui.on_tick()
        RECLAIM.if_idle(busy=self._listing)

    # ---- listing ----------------------------------------------------------------------------

    @property
    def listing(self) -> bool:
        """A refresh is under way: its worker, or its last pages still being applied."""
        return self._listing

    def refresh_fleet(self) -> None:
        self._cancel_listing.set()  # a newer listing replaces the one under way
        self._cancel_listing = threading.Event()
        self._generation += 1
        self._listing = True
        self._arrived = 0
        self._arriving = []
        self._finishing = None
        self._failed = {}
        self._listed_regions = list(self.services.regions)
        self.node_list.begin_listing()
        self._show_progress()
        asked = None if self._preferences_asked else self.tui.listing_factory()
        # nothing cached on screen: a small first page per region paints rows in a fraction of
        # the time a page of 1,000 takes (issue 25, item 4); one call more per region
        first = FIRST_PAGE if self.node_list.total_count == 0 else None
        self._list_worker(self._generation, self.tui.listings(), self._cancel_listing, asked, first)

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False, description="list")
    def _list_worker(
        self,
        generation: int,
        listings: list[tuple[ClientFactory, Callable[[list[Node]], list[Node]]]],
        cancel: threading.Event,
        preferences_from: Any,
        first_page: int | None = None,
    ) -> None:
        list_accounts(
            self.services,
            listings,
            generation,
            lambda: not self._closing and generation == self._generation,
            self.post_message,
            cancel,
            preferences_from,
            first_page,
        )

    def _show_progress(self) -> None:
        nodes = self.node_list
        if self._listing:
            regions = ", ".join(self._listed_regions)
            # the count moves on in steps: a new border subtitle repaints the whole list
            shown = self._arrived - self._arrived % 1000 if self._arrived >= 1000 else self._arrived
            text = f"listing {regions}… {shown} nodes"
            if nodes.border_subtitle != text:
                nodes.border_subtitle = text
            if self.header.activity != "refreshing":
                self.header.set_activity("refreshing")
        else:
            failed = f" · failed: {', '.join(sorted(self._failed))}" if self._failed else ""
            nodes.border_subtitle = f"{nodes.total_count} nodes{failed}"
            self.header.set_activity("")

    @on(NodesArrived)
    def _nodes_arrived(self, message: NodesArrived) -> None:
        if message.generation != self._generation:
            return  # a listing that a newer refresh replaced
        # pages join the ones already waiting; they are applied (a refilter and a repaint of the
        # list) at most every APPLY_EVERY seconds, so a cursor step or a key rarely waits behind
        # one: pages come every few milliseconds while a large fleet streams in
        if not self._arriving:
            self._apply_in(max(0.0, self._applied_at + APPLY_EVERY - time.monotonic()))
        self._arriving += message.nodes

    def _apply_in(self, seconds: float) -> None:
        """The next turn of arriving rows: one timer at a time."""
        if self._apply_timer is not None:
            self._apply_timer.stop()
        # (a timer of 0 s divides by zero in Textual 8.2.8)
        self._apply_timer = self.set_timer(max(seconds, 0.001), self._apply_arrived)

    def _apply_arrived(self) -> None:
        self._apply_timer = None
        self._applied_at = time.monotonic()
        # a region's EC2 merge brings thousands of rows at once: a few hundred a turn keep each
        # turn short; the rest follow a frame later, so keys and frames come between turns
        nodes, self._arriving = self._arriving[:APPLY_AT_MOST], self._arriving[APPLY_AT_MOST:]
        if nodes:
            self.node_list.upsert(nodes)
            self._arrived = self.node_list.seen_count
            self._show_progress()
            if self._arriving or self._finishing is not None:
                self._apply_in(APPLY_NEXT)  # the listing's end is a turn of its own
        elif self._finishing is not None:
            finished, self._finishing = self._finishing, None
            self._finish_listing(finished)

    @on(RegionFailed)
    def _region_failed(self, message: RegionFailed) -> None:
        if message.generation != self._generation:
            return
        self._failed[message.region] = message.message
        self.notify(
            message.message, title=f"{message.region}: listing failed", severity="error", timeout=12
        )

    @on(ListingFinished)
    def _listing_finished(self, message: ListingFinished) -> None:
        if message.generation != self._generation:
            return
        if self._arriving:
            # the last pages still wait for their turns: applied all at once they were one frame
            # of tens of milliseconds; rows it never mentioned are dropped after them
            self._finishing = message
            return
        self._finish_listing(message)

    def _finish_listing(self, message: ListingFinished) -> None:
        self._listing = False
        nodes = self.node_list
        if message.result is None:
            self.notify(message.error or "listing failed", title="refresh failed", severity="error")
            nodes.end_listing([])
        else:
            failed = {e.region for e in message.result.errors} | set(self._failed)
            nodes.end_listing([r for r in self.services.regions if r not in failed])
            if not failed and self.services.on_inventory is not None:
                self._save_inventory(nodes.nodes)
        if nodes.stale_count == 0:
            self.header.set_stale(None)
        self._show_progress()
        listing_done()
        found = None if message.result is None else message.result.preferences
        if found is not None:  # read by the listing process
            self._preferences_asked = True
            if found:
                self.details.set_preferences(found)
        elif not self._preferences_asked and message.result is not None:
            self._preferences_asked = True  # a listing of a test's or the bench's: read here
            self._load_preferences(self.tui.listing_factory())

    @work(thread=True, group="preferences", exit_on_error=False)
    def _load_preferences(self, factory: ClientFactory) -> None:
        """Session Manager preferences per region, for the details pane; optional (may be denied)."""
        from sessiontui.aws.sessions import session_preferences

        found: dict[str, Any] = {}
        for region in self.services.regions:
            try:
                prefs = session_preferences(factory.client("ssm", region))
            except Exception:
                continue  # not readable with this identity: the pane simply omits them
            if prefs is not None:
                found[region] = prefs
        if found:
            self.app.call_from_thread(self.details.set_preferences, found)

    # a description of our own: Textual's default is the repr of every argument, here 10,000
    # nodes, which was a 55 ms stall at the end of each refresh
    @work(thread=True, group="inventory-cache", exit_on_error=False, description="save the fleet")
    def _save_inventory(self, nodes: list[Node]) -> None:
        callback = self.services.on_inventory
        if callback is not None:
            callback(nodes)

    # ---- list and details -------------------------------------------------------------------

    def _highlighted(self, node: Node | None) -> None:
        # In the cursor's own frame: the pane repaints only the rows that differ (a few
        # milliseconds at most), where following one frame behind made every step wait for the
        # next frame slot. A held-down arrow key still draws the pane once per frame.
        self._details_pending = node
        if self.is_mounted:
            self._show_details()
        else:  # rows before the pane is there (a cached fleet at start)
            self.call_after_refresh(self._show_details)

    def _show_details(self) -> None:
        node, self._details_pending = self._details_pending, _NOTHING
        if node is _NOTHING:
            return
        assert node is None or isinstance(node, Node)
        nodes = self.node_list
        enter, opened = self.tui.node_access.enter_note(node) if node else ("", False)
        self.details.show(
            node,
            # an approved access request opens it: the role's scope is not in the way
            scope_reason=nodes.scope_reason(node.id) if node and not opened else "",
            stale=nodes.is_stale(node.id) if node else False,
            notes=self.tui.windows.notes_for(node.id) if node else (),
            enter=enter,
        )

    def refresh_details(self) -> None:
        """Show the selected node again (something beside the node changed, e.g. its windows)."""
        if not self.is_mounted:
            return
        first = self._details_pending is _NOTHING
        self._details_pending = self.node_list.selected_node
        if first:
            self.call_after_refresh(self._show_details)

    @on(NodeList.Activated)
    def _activated(self, message: NodeList.Activated) -> None:
        self.action_connect()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.node_list.set_query(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_focus(self.node_list)

    def add_filter_term(self, term: str) -> None:
        box = self.filter_input
        words = box.value.strip()
        if term in words.split():
            return
        box.value = f"{words} {term}".strip()
        box.cursor_position = len(box.value)

    # ---- actions ----------------------------------------------------------------------------

    # set_focus, not widget.focus(): focus() waits its turn in the message queue, so keys typed
    # in the same burst ("/prod" typed fast or pasted) went to the list and fired its bindings
    def action_focus_filter(self) -> None:
        self.set_focus(self.filter_input)

    def action_focus_list(self) -> None:
        self.set_focus(self.node_list)

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""

    def action_refresh(self) -> None:
        self.refresh_fleet()

    def action_toggle_out_of_scope(self) -> None:
        nodes = self.node_list
        nodes.show_out_of_scope = not nodes.show_out_of_scope
        self.notify(
            "out-of-scope nodes shown (dimmed)"
            if nodes.show_out_of_scope
            else "out-of-scope nodes hidden",
            timeout=3,
        )

    def action_toggle_details(self) -> None:
        self.details.display = not self.details.display

    def action_facets(self) -> None:
        visible = self.node_list.visible_nodes()

        def chosen(term: str | None) -> None:
            if term:
                self.add_filter_term(term)

        from sessiontui.core.node import unreadable_tags_note

        self.app.push_screen(
            FacetsScreen(facet_counts(visible), len(visible), unreadable_tags_note(visible)),
            chosen,
        )

    def action_connect(self) -> None:
        self.tui.connect(self.node_list.selected_node)

    def action_forward(self) -> None:
        self.tui.forward(self.node_list.selected_node)

    def action_toggle_favourite(self) -> None:
        self.tui.marks.toggle(self.node_list.selected_node)

    def action_window_shell(self) -> None:
        self.tui.windows.open(self.node_list.selected_node)

    def action_forwards(self) -> None:
        self.tui.show_forwards()

    def action_role(self) -> None:
        self.tui.choose_role()

    def action_toggle_mark(self) -> None:
        self.tui.toggle_mark(self.node_list)

    def action_run_command(self) -> None:
        self.tui.start_run(self.node_list)

    def action_recent_runs(self) -> None:
        self.tui.show_recent_runs()

    def action_request_access(self) -> None:
        from sessiontui.core.access_request import MAX_TARGETS

        nodes = self.node_list
        if len(nodes.marked) > MAX_TARGETS:  # any number may be marked for a command run
            self.notify(
                f"{len(nodes.marked)} nodes are marked; an access request takes at most "
                f"{MAX_TARGETS}: unmark some (space) first",
                title="request access",
                severity="warning",
            )
            return
        self.tui.node_access.request(
            nodes.selected_node, marked=nodes.marked_nodes(), on_sent=nodes.clear_marks
        )

    def action_access_requests(self) -> None:
        self.tui.node_access.show_panel()

    def action_reauthenticate(self) -> None:
        self.tui.reauthenticate()

    def action_logout(self) -> None:
        self.tui.logout()
