"""The databases panel (D): every database in every account and region held, with the bastion
chosen for each and why. Enter opens its tunnel (a healing forward through the bastion, on the
local port it had last time); `c` hands the terminal to the engine's client, signed in through
its environment; `b` takes the next bastion. Discovery, ranking and sign-in run in workers; the
last discovery shows at once from the private cache while a fresh one is made behind it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sessiontui.core.durations import format_remaining
from sessiontui.core.errors import SessiontuiError
from sessiontui.ui.keys import DATABASES_BINDINGS
from sessiontui.ui.widgets.row_table import refill, selected

if TYPE_CHECKING:
    from sessiontui.core.databases import Database, DatabasePreset
    from sessiontui.core.node import Node
    from sessiontui.operations.database_tunnel import DatabaseRow, Place
    from sessiontui.stores.database_cache import DatabaseCache
    from sessiontui.ui.forwarding import ForwardEntry


def auth_words(row: DatabaseRow) -> str:
    auth = row.chosen.auth
    if auth == "iam":
        return f"iam ({row.chosen.user or 'no user'})"
    if auth == "secret":
        return "secret"
    return "none (client asks)"


@dataclass
class DatabasePanelState:
    """What outlives the panel being closed: the tunnels it opened and the bastions chosen."""

    tunnels: dict[str, ForwardEntry] = field(default_factory=dict)  # database key -> forward
    pick: dict[str, int] = field(default_factory=dict)  # database key -> index of its bastion


class DatabasesScreen(ModalScreen[None]):
    BINDINGS = DATABASES_BINDINGS

    DEFAULT_CSS = """
    DatabasesScreen { align: center middle; }
    DatabasesScreen > Vertical {
        width: 98%; height: 80%; border: round $primary; background: $surface; padding: 0 1;
    }
    DatabasesScreen DataTable { height: 1fr; }
    DatabasesScreen .hint { color: $text-muted; }
    """

    # the endpoint last: it is the longest, and the bastion and why must show at 140 columns
    COLUMNS = (
        "Name",
        "Engine",
        "Role",
        "Auth",
        "Bastion",
        "Tunnel",
        "Why",
        "Region",
        "Account",
        "Endpoint",
    )

    def __init__(self, host: Any, state: DatabasePanelState) -> None:
        super().__init__()
        self.host = host  # the SessiontuiApp: its accesses, nodes, forwards and opener
        self.databases: list[Database] = []
        self.rows: list[DatabaseRow] = []
        self.pick = state.pick
        self.tunnels = state.tunnels
        self.loaded = False
        self.status = "looking for databases…"
        self._cache: DatabaseCache | None = None
        self._fleet_note = ""
        self._remembered: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Databases"
            table: DataTable[Text] = DataTable(cursor_type="row", id="databases-table")
            table.add_columns(*self.COLUMNS)
            yield table
            yield Static(self.status, id="databases-status")
            yield Static(
                "Enter open tunnel · c client (signed in) · b next bastion · R refresh · Esc close",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.reload(cached_first=True)
        self.set_interval(1.0, self._redraw)

    # -- where databases are listed, and which nodes may carry a tunnel -------------------------

    def places(self) -> list[Place]:
        from sessiontui.operations.database_tunnel import Place

        services = self.host.services
        held = self.host.access.alive()
        if held:
            return [
                Place(
                    (h.factory or services.factory).client,
                    region,
                    h.access.account_id,
                    h,
                )
                for h in held
                for region in services.regions
            ]
        return [Place(services.factory.client, region, "", None) for region in services.regions]

    def cache_key(self, places: list[Place]) -> list[str]:
        import os

        services = self.host.services
        who = sorted({f"{p.account_id}:{getattr(p.access, 'name', '')}" for p in places})
        # as the inventory cache: a sandbox's (AWS_ENDPOINT_URL) never answers for AWS's
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        return [services.profile_label, *who, *sorted(services.regions), endpoint]

    def reload(self, cached_first: bool = False) -> None:
        """What the worker needs, gathered here on the UI's thread: the places, the nodes, who
        may open which, the recent nodes and the presets; then discovery in a worker."""
        host = self.host
        held = host.access.alive()
        nodes = list(host.main_screen.node_list.nodes)
        openable = {n.id for n in nodes if not held or host.access.access_for(n) is not None}
        self._fleet_note = "" if nodes else "the fleet is not listed yet: R once it is"
        self._discover(
            self.places(),
            nodes,
            openable,
            list(host.marks.marks.recent),
            list(getattr(host.services.config, "databases", None) or []),
            cached_first,
        )

    @work(thread=True, group="databases", exclusive=True, exit_on_error=False)
    def _discover(
        self,
        places: list[Place],
        nodes: list[Node],
        openable: set[str],
        recent: list[str],
        presets: list[DatabasePreset],
        cached_first: bool,
    ) -> None:
        from sessiontui.operations.database_tunnel import find_databases, survey
        from sessiontui.stores.database_cache import DatabaseCache

        cache = DatabaseCache(self.cache_key(places))
        self._cache = cache
        self._remembered = cache.ports()
        if cached_first:
            found = cache.load()
            if found is not None:
                databases, age = found
                note = f"cached {format_remaining(age)} ago; refreshing…"
                self.app.call_from_thread(self._show_cached, databases, places, presets, note)
        try:
            databases, errors = find_databases(places)
        except Exception as exc:  # denied, unreachable: say so in the panel, keep it open
            self.app.call_from_thread(self._say, getattr(exc, "message", str(exc)))
            return
        if not errors:
            try:
                cache.save(databases)
            except OSError as exc:
                errors.append(f"cache not saved: {exc}")
        # DescribeInstances and DescribeSecurityGroups, once per VPC and groups
        rows, more = survey(databases, places, presets, nodes, recent, lambda n: n.id in openable)
        self.app.call_from_thread(self._show, databases, rows, [*errors, *more])

    def _show_cached(
        self,
        databases: list[Database],
        places: list[Place],
        presets: list[DatabasePreset],
        note: str,
    ) -> None:
        """The last discovery, before AWS answers: no bastions yet (they need the network)."""
        if self.loaded:
            return
        from sessiontui.core.errors import UsageError
        from sessiontui.operations.database_tunnel import DatabaseRow, chosen_for, place_of

        rows = []
        for d in databases:
            try:
                rows.append(DatabaseRow(chosen_for(d, presets), place_of(d, places), ()))
            except UsageError:
                continue  # listed under an access no longer held
        self.rows = rows
        self.status = f"{len(rows)} databases, {note}"
        self._redraw()

    def _show(self, databases: list[Database], rows: list[DatabaseRow], errors: list[str]) -> None:
        self.databases = databases
        self.rows = rows
        self.loaded = True
        count = f"{len(rows)} database endpoint{'s' if len(rows) != 1 else ''}"
        self.status = "; ".join([count, *([self._fleet_note] if self._fleet_note else []), *errors])
        self._redraw()

    def _say(self, text: str) -> None:
        self.status = text
        self._redraw()

    # -- the table ------------------------------------------------------------------------------

    def _bastion(self, row: DatabaseRow) -> Any:
        if not row.choices:
            return None
        return row.choices[self.pick.get(row.chosen.database.key, 0) % len(row.choices)]

    def _tunnel_cell(self, row: DatabaseRow) -> str:
        entry = self.tunnels.get(row.chosen.database.key)
        if entry is None:
            return ""
        fw = entry.forward
        if entry.error:
            return "failed"
        if fw is None:
            return "starting"
        if fw.ended:
            return f"ended: {fw.how}"
        state = f"127.0.0.1:{fw.local_port}" if fw.is_ready and fw.local_port else str(fw.state)
        if fw.is_ready and fw.local_port:
            self._remember(row.chosen.database.key, int(fw.local_port))
        return state + (f" (reconnected {fw.heals})" if fw.heals else "")

    def _remember(self, key: str, port: int) -> None:
        if self._remembered.get(key) == port or self._cache is None:
            return
        self._remembered[key] = port
        cache = self._cache
        self.host.run_worker(
            lambda: cache.remember_port(key, port), thread=True, exit_on_error=False
        )

    def _cells(self, row: DatabaseRow) -> tuple[str, ...]:
        db = row.chosen.database
        choice = self._bastion(row)
        if choice is None:
            bastion = "…" if not self.loaded else "none"
            why = "" if not self.loaded else "no connectable node in its VPC that you may open"
        else:
            at = self.pick.get(db.key, 0) % len(row.choices)
            count = len(row.choices)
            # which of the candidates (b takes the next), so a second choice is never mistaken
            bastion = choice.node.display_name + (f" ({at + 1}/{count})" if count > 1 else "")
            why = choice.reason
        return (
            row.chosen.name,
            db.engine,
            db.role or "-",
            auth_words(row),
            bastion,
            self._tunnel_cell(row),
            why,
            db.region,
            db.account_id or "-",
            f"{db.host}:{db.port}",
        )

    def _redraw(self) -> None:
        keyed = ((r.chosen.database.key, self._cells(r)) for r in self.rows)
        refill(self.query_one(DataTable), keyed)
        self.query_one("#databases-status", Static).update(Text(self.status))

    def _selected(self) -> DatabaseRow | None:
        return selected(self.query_one(DataTable), self.rows)

    # -- actions --------------------------------------------------------------------------------

    def action_next_bastion(self) -> None:
        row = self._selected()
        if row is None or len(row.choices) < 2:
            self.notify("no other bastion can reach it", timeout=3)
            return
        key = row.chosen.database.key
        self.pick[key] = (self.pick.get(key, 0) + 1) % len(row.choices)
        self._redraw()

    def action_open(self) -> None:
        from sessiontui.operations.database_tunnel import client_string
        from sessiontui.ui.screens.forward import ForwardRequest

        row = self._selected()
        if row is None:
            return
        choice = self._bastion(row)
        if choice is None and not self.loaded:
            self.notify(f"{row.chosen.name}: still looking for its bastion", timeout=3)
            return
        if choice is None:
            self.notify(
                f"{row.chosen.name}: no connectable node in its VPC that you may open",
                severity="warning",
            )
            return
        key = row.chosen.database.key
        running = self.tunnels.get(key)
        if running is not None and running.running:
            self.notify(f"{row.chosen.name}: its tunnel is open already", timeout=3)
            return
        db = row.chosen.database
        # a preset's port is its main endpoint's (writer, primary): a cluster's reader beside it
        # takes the port it had last time, else a free one
        main = db.role in ("", "writer", "primary", "configuration")
        preset_port = row.chosen.preset.local_port if row.chosen.preset and main else None
        request = ForwardRequest(
            remote_port=db.port,
            host=db.host,
            local_port=preset_port or self._remembered.get(key, 0),
            preset=f"db {row.chosen.name}",
        )
        node = choice.node
        opener = self.host.opener

        def go(reason: str | None) -> None:
            held = self.host.access.active
            who = held.name if held is not None else ""
            entry = self.host.forwards.start(node, request, reason, held, who)
            entry.database = row.chosen.name
            entry.client_for = lambda port: client_string(row.chosen, row.chosen.user, port)
            self.tunnels[key] = entry
            self.host.marks.touch(node)
            self._redraw()

        if opener.ready(node, "a database tunnel", self.action_open):
            opener.with_reason(f"a tunnel to {row.chosen.name} through {node.display_name}", go)

    @on(DataTable.RowSelected, "#databases-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table takes Enter for itself: it opens the tunnel here as it says
        self.action_open()

    def action_client(self) -> None:
        row = self._selected()
        if row is None:
            return
        entry = self.tunnels.get(row.chosen.database.key)
        fw = entry.forward if entry is not None else None
        if fw is None or not fw.is_ready or fw.ended or not fw.local_port:
            self.notify(f"{row.chosen.name}: open its tunnel first (Enter)", timeout=4)
            return
        self._sign_in(row, int(fw.local_port), entry.access if entry else None)

    @work(thread=True, group="database-client", exit_on_error=False)
    def _sign_in(self, row: DatabaseRow, port: int, held: Any) -> None:
        """A token (presigned, no call) or the secret (GetSecretValue): in a worker."""
        import shutil

        from sessiontui.operations.database_tunnel import Place, SignIn, client_argv

        place: Place = row.place
        if held is not None and held.factory is not None:
            place = Place(held.factory.client, row.place.region, row.place.account_id, held)
        try:
            sign_in = SignIn(row.chosen, place)
            env = sign_in.env()
            argv = client_argv(row.chosen, sign_in.user, port)
        except SessiontuiError as exc:
            self.app.call_from_thread(self._refused, row, "\n".join(exc.lines()))
            return
        except Exception as exc:  # AWS refused the secret, the network is gone
            self.app.call_from_thread(self._refused, row, f"{type(exc).__name__}: {exc}")
            return
        if shutil.which(argv[0]) is None:
            self.app.call_from_thread(self._refused, row, f"{argv[0]} is not installed")
            return
        self.app.call_from_thread(self._run_client, row, argv, env, sign_in.source)

    def _refused(self, row: DatabaseRow, text: str) -> None:
        self.notify(text, title=f"sign-in to {row.chosen.name}", severity="error", timeout=10)

    def _run_client(
        self, row: DatabaseRow, argv: list[str], env: dict[str, str], source: str
    ) -> None:
        import os

        from textual.app import SuspendNotSupported

        from sessiontui.ui.handover import hand_over

        def client() -> int:
            # the password travels in the environment only: never argv, never a file
            return subprocess.call(argv, env={**os.environ, **env})

        try:
            code = hand_over(self.app, client)
        except SuspendNotSupported:
            self.notify("this terminal cannot hand over to a client", severity="error")
            return
        except OSError as exc:
            self._refused(row, f"{argv[0]}: {exc}")
            return
        self.notify(
            f"{argv[0]} ended ({code}); the tunnel stays open",
            title=f"{row.chosen.name} ({source})",
            timeout=6,
        )

    def action_refresh(self) -> None:
        self.status = "refreshing…"
        self._redraw()
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)


def open_databases(app: Any) -> None:
    if isinstance(app.screen, DatabasesScreen):
        return
    if app.database_panel is None:
        app.database_panel = DatabasePanelState()
    app.push_screen(DatabasesScreen(app, app.database_panel))
