"""The screens shown in the README and pinned by the snapshot tests, in one place.

`scripts/screenshots.py` and `tests/test_snapshots.py` both drive these scenes, so a screenshot
and its snapshot are the same frame. Each scene runs the real app against the real sandbox
(roles, MFA, StartSession, the stand-in plugin's forwards and shells) with three things pinned
so that the frame is the same on every run:

- the clock: a FakeClock at FIXED_NOW (countdowns, MFA windows, "last ping" never move);
- the fleet: the demo fleet as recorded in fixtures/demo_fleet.json (the sandbox's listing
  carries live LastPingDateTime values), fed through AppServices.list_fleet;
- the terminal: SIZE.

Credentials taken before a scene opens (as `--role X --mfa-code C` would) have their expiry
pinned to the FakeClock, and the shell scene's session length is pinned (see `scripted_shell`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pexpect

from sessiontui.access.iam_role import role_access
from sessiontui.core.clock import FakeClock
from sessiontui.core.credentials import Credentials
from sessiontui.core.node import Node, sort_key
from sessiontui.plugin.output import Ending
from sessiontui.plugin.shell import ShellResult, ShellRunner
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.services import AppServices
from test_ui_support import FakeFleet, listed

FIXTURE = Path(__file__).parent / "fixtures" / "demo_fleet.json"
# 17 s left in the MFA code window; a weekday morning
FIXED_NOW = datetime(2026, 11, 21, 9, 41, 13, tzinfo=UTC)
SIZE = (140, 40)
# the demo config's "staging-web" preset: stg-web-01:80 on this local port
PRESET_PORT = 18080
ROLE = "StagingDev"
ROLE_LEFT = 52 * 60 + 30  # what the header shows at the start of the role scenes: 0:52:30
SHELL_SECONDS = 12 * 60 + 34  # the pinned length of the shell in the summary scene
SHELL_NODE = "stg-web-01"


# ---- the recorded fleet --------------------------------------------------------------------


def load_fleet(path: Path = FIXTURE) -> list[Node]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Node.from_json(n) for n in data["nodes"]]


def record_fleet(sandbox: Any, path: Path = FIXTURE) -> int:
    """List the sandbox's demo fleet and store it with pings moved to FIXED_NOW's frame."""
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.inventory import list_fleet

    with sandbox_environment(sandbox, Path(sandbox.tmpdir) / "record"):
        listed_at = datetime.now(UTC)
        result = list_fleet(ClientFactory(), list(sandbox.regions))
    if result.errors:
        raise RuntimeError(f"listing failed: {result.errors}")
    nodes = []
    for node in sorted(result.nodes, key=sort_key):
        ping = node.last_ping
        if ping:
            # keep how long ago the sandbox said each node pinged, on the fixed clock
            ago = listed_at - datetime.fromisoformat(ping)
            ping = (FIXED_NOW - timedelta(seconds=round(ago.total_seconds()))).isoformat()
        nodes.append(replace(node, last_ping=ping).to_json())
    doc = {
        "about": "the sandbox's demo fleet for snapshots and screenshots; "
        "regenerate with `python scripts/screenshots.py --record-fleet`",
        "recorded_for": FIXED_NOW.isoformat(),
        "regions": list(sandbox.regions),
        "nodes": nodes,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(nodes)


# ---- the environment a scene runs in -------------------------------------------------------


@contextlib.contextmanager
def sandbox_environment(sandbox: Any, home: Path) -> Iterator[None]:
    """What `sessiontui --demo` sets up, with HOME and the XDG folders under `home`, so no
    credential cache, MFA window or audit line of one run leaks into the next."""
    env = dict(sandbox.env())
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        env[name] = str(home / name.lower())
    drop = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "XDG_CONFIG_HOME")
    with mock.patch.dict(os.environ, env):
        for key in drop:
            os.environ.pop(key, None)
        yield


@dataclass
class Stage:
    """One scene's app and what the scene may need to reach around it."""

    app: SessiontuiApp
    sandbox: Any
    clock: FakeClock
    # what a scene pins for its length (the sandbox's clock, its request ids), undone after it
    pins: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    # run on the way out (e.g. the sign-in scene's cancel: its worker would poll for 10 minutes)
    cleanups: list[Callable[[], None]] = field(default_factory=list)


Prepare = Callable[[Any, AppServices, FakeClock], AppServices]


def build_app(sandbox: Any, *, role: str | None = None, prepare: Prepare | None = None) -> Stage:
    """The app as `sessiontui --demo` builds it (cli -> Runtime -> services_from_runtime),
    then pinned: FakeClock, recorded fleet, no inventory cache, optionally a role already taken."""
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.cli import build_parser
    from sessiontui.config import load_config
    from sessiontui.runtime import Runtime
    from sessiontui.ui.launch import services_from_runtime

    clock = FakeClock(FIXED_NOW)
    config = load_config()
    rt = Runtime(
        args=build_parser().parse_args(["--demo"]),
        factory=ClientFactory(),
        regions=list(sandbox.regions),
        config=config,
        clock=clock,
        sandbox=sandbox,
    )
    services: AppServices = services_from_runtime(rt)
    services = replace(
        services,
        list_fleet=FakeFleet(load_fleet(), page=10),
        cached_nodes=None,
        cached_age_seconds=None,
        cached_rest=None,
        on_inventory=None,
    )
    if role is not None:
        creds = pinned_credentials(sandbox, role, clock)
        services = replace(services, access=role_access(config.roles[role], creds))
    if prepare is not None:
        services = prepare(sandbox, services, clock)
    return Stage(SessiontuiApp(services), sandbox, clock)


def pinned_credentials(sandbox: Any, role: str, clock: FakeClock) -> Credentials:
    """Real role credentials from the sandbox, their expiry moved onto the fixed clock."""
    raw = sandbox.role_credentials(role, 3600)
    return Credentials(
        raw["AccessKeyId"],
        raw["SecretAccessKey"],
        raw["SessionToken"],
        clock.now() + timedelta(seconds=ROLE_LEFT),
        role,
        f"arn:aws:iam::123456789012:role/{role}",
    )


def end_sessions() -> None:
    """After a scene: whatever it opened is stopped and terminated (a forward holds its port)."""
    from sessiontui.plugin.supervisor import ACTIVE_SESSIONS

    ACTIVE_SESSIONS.terminate_all("the screenshot was taken", Ending.STOPPED)


# ---- waiting ---------------------------------------------------------------------------------


async def wait_for(
    pilot: Any, predicate: Callable[[], Any], what: str, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"scene: {what} did not happen within {timeout:.0f}s")
        await pilot.pause(0.05)


async def settle(pilot: Any) -> None:
    """Every worker done (listing, preferences, plugin lookup) and their messages handled."""
    app = pilot.app
    await pilot.pause()
    # the MFA step's worker waits for a code the operator has not typed, a pending access
    # request's worker for an approver, the sign-in's until the code is approved: none of them
    # is part of the frame, nor is a command run's, which polls until its nodes are over
    idle = ("assume", "access-request", "identity-center", "run")
    busy = [w for w in app.workers if w.group not in idle]
    if busy:
        await app.workers.wait_for_complete(busy)
    await listed(app, pilot)
    for _ in range(3):
        await pilot.pause()


async def still(pilot: Any) -> None:
    """The frame about to be taken: no blinking cursor (it would flip between runs)."""
    from textual.widgets import Input

    await settle(pilot)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


async def select_node(pilot: Any, name: str) -> None:
    """Move the cursor to `name` the way an operator does: with the arrow keys."""
    nodes = pilot.app.main_screen.node_list
    nodes.focus()
    await pilot.press("home")
    names = [n.display_name for n in nodes.visible_nodes()]
    if name not in names:
        raise AssertionError(f"scene: {name} is not in the list ({len(names)} shown)")
    await pilot.press(*["down"] * names.index(name))
    await wait_for(pilot, lambda: nodes.selected_node.display_name == name, f"cursor on {name}")


# ---- the scenes ------------------------------------------------------------------------------


async def scene_main(pilot: Any) -> None:
    """First screen: the whole fleet, a favourite (*), a node that cannot take a session explained."""
    await settle(pilot)
    await select_node(pilot, "prod-db-01")
    await pilot.press("asterisk")
    await wait_for(
        pilot,
        lambda: pilot.app.marks.marks.is_favourite(
            pilot.app.main_screen.node_list.selected_node.id
        ),
        "favourite",
    )
    await pilot.app.workers.wait_for_complete()
    pilot.app.clear_notifications()  # the "is a favourite" toast comes and goes on its own timer
    await select_node(pilot, "prod-cache-01")
    await still(pilot)


async def scene_narrow(pilot: Any) -> None:
    """A small terminal: the list keeps its ID and PING, the footer the way to every key."""
    await settle(pilot)
    await select_node(pilot, "prod-cache-01")
    await still(pilot)


async def scene_filter(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("slash", *"project=Production web", "enter")
    await select_node(pilot, "prod-web-03")
    await still(pilot)


async def _open_picker(pilot: Any) -> Any:
    from sessiontui.ui.screens.roles import RolePickerScreen

    await settle(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RolePickerScreen), "role picker")
    picker = pilot.app.screen
    # IAM tells each role's maximum in a worker; the frame shows them all
    await wait_for(
        pilot,
        # Identity Center's lines have no maximum: their duration is the permission set's
        lambda: all(line.max_duration or line.offer.fixed_duration for line in picker.lines),
        "role maxima from IAM",
    )
    await pilot.press("down")  # StagingDev
    return picker


async def scene_roles(pilot: Any) -> None:
    await _open_picker(pilot)
    await still(pilot)


async def scene_mfa(pilot: Any) -> None:
    """Enter on the role, Enter on its duration, and the MFA step asks for the code.

    In --demo the code fills itself from SESSIONTUI_DEMO_TOTP; that variable is unset for this
    scene (see MFA_ASKS) so the frame shows the step an operator with a phone sees."""
    from sessiontui.ui.screens.mfa import AssumeScreen

    await _open_picker(pilot)
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AssumeScreen), "MFA step")
    box = pilot.app.screen.query_one("#code")
    await wait_for(pilot, lambda: not box.disabled, "the code box")
    await pilot.press(*"4829")
    await still(pilot)


def http_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return str(answer.read().decode())


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # as a listener binds: the last run's connections in TIME_WAIT do not hold the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def scene_forwards(pilot: Any) -> None:
    """A preset forward started from the dialog, used once, then the panel (F)."""
    from sessiontui.ui.screens.forward import ForwardScreen
    from sessiontui.ui.screens.forwards import ForwardsScreen

    app = pilot.app
    await settle(pilot)
    await select_node(pilot, "stg-web-01")
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen), "forward dialog")
    # the presets list comes before the port fields: pick "staging-web", then Enter starts it
    await pilot.press("shift+tab", "down", "enter")  # the second preset, after sessions-cache
    await wait_for(pilot, lambda: app.screen.query_one("#local-port").value, "preset filled")
    await pilot.press("enter")
    book = app.forwards

    def ready() -> bool:
        entries = book.entries()
        if entries and entries[0].error:
            raise AssertionError(f"scene: the forward failed: {entries[0].error}")
        return bool(entries) and entries[0].forward is not None and entries[0].forward.is_ready

    await wait_for(pilot, ready, "forward ready", timeout=30)
    entry = book.entries()[0]
    answer = await asyncio.to_thread(http_get, entry.forward.local_port)
    if "hello from stg-web-01" not in answer:
        raise AssertionError(f"scene: the forward answered {answer!r}")
    await wait_for(pilot, lambda: entry.forward.connections >= 1, "the connection counted")
    app.clear_notifications()  # "starting…" and "ready" toasts come and go on their own timers
    await pilot.press("F")
    await wait_for(pilot, lambda: isinstance(app.screen, ForwardsScreen), "forwards panel")
    await still(pilot)


def scripted_shell(clock: FakeClock) -> Callable[[ShellRunner], ShellResult]:
    """ShellRunner.run for a headless app: the real plugin (StartSession done, a real local
    shell) typed to by pexpect instead of handed the terminal, whose length is pinned and
    shown on the fixed clock too, so the summary and the countdown agree."""

    def run(self: ShellRunner) -> ShellResult:
        argv = self.command.argv
        child = pexpect.spawn(argv[0], argv[1:], env=self.command.env, encoding=None, timeout=15)
        try:
            child.expect(rb"ssm-user@\S+")
            child.sendline(b"hostname")
            child.expect(SHELL_NODE.encode())
            child.sendline(b"exit")
            child.expect(pexpect.EOF)
            self._filter(child.before or b"")
        finally:
            child.close(force=True)
        how, reason = self.outcome.decide(child.exitstatus, child.signalstatus)
        clock.advance(SHELL_SECONDS)
        return ShellResult(
            self.outcome.session_id or self.command.session_id,
            float(SHELL_SECONDS),
            how,
            reason,
            child.exitstatus,
            child.signalstatus,
        )

    return run


def shell_scene(stage: Stage) -> Callable[[Any], Awaitable[None]]:
    async def scene(pilot: Any) -> None:
        app = pilot.app
        await settle(pilot)
        await select_node(pilot, SHELL_NODE)
        app.clear_notifications()
        # headless: there is no terminal to hand over, so suspend is a no-op and the runner
        # types into the plugin's shell itself
        with (
            mock.patch.object(app, "suspend", contextlib.nullcontext),
            mock.patch.object(ShellRunner, "spawn", lambda self: None),
            mock.patch.object(ShellRunner, "run", scripted_shell(stage.clock)),
        ):
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: any(n.title == "shell ended" for n in app._notifications),
                "the shell summary",
                timeout=30,
            )
        # the once-a-second tick now, not whenever its timer fires: the header's countdown
        # shows the time the shell took in every run
        app.main_screen.tick()
        await still(pilot)

    return scene


# ---- just-in-time node access ----------------------------------------------------------------

JIT_ROLE = "FleetAdmin"  # even the widest role may not start a session on a governed node
# the request ids the sandbox hands out in these scenes, in order (AWS's are random)
REQUEST_IDS = ("oi-5e1d9c3a7b20", "oi-0c4f2a8e6d13")


def pin_node_access(stage: Stage) -> None:
    """The sandbox's clock stands on the app's FakeClock and its request ids come from
    REQUEST_IDS, so a token's ExpirationTime and every id in the frame are the same each run."""
    from sessiontui_sandbox import ssm_access

    state = stage.sandbox.state
    for request_id in REQUEST_IDS:  # an earlier scene on the same sandbox filed them too
        state.access.requests.pop(request_id, None)
    ids = iter(REQUEST_IDS)
    stage.pins.enter_context(mock.patch.object(state, "now", stage.clock.now))
    stage.pins.enter_context(
        mock.patch.object(ssm_access, "_new_request_id", lambda _state: next(ids))
    )


def access_request_scene(stage: Stage) -> Callable[[Any], Awaitable[None]]:
    """Enter on a governed node: StartSession refused, the request dialog says why."""

    async def scene(pilot: Any) -> None:
        from sessiontui.ui.screens.access_request import AccessRequestScreen

        app = pilot.app
        pin_node_access(stage)
        await settle(pilot)
        await select_node(pilot, "pay-api-01")
        app.clear_notifications()
        with mock.patch.object(app, "suspend", contextlib.nullcontext):
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: isinstance(app.screen, AccessRequestScreen), "request dialog"
            )
        await pilot.press(*"INC-1234: payments API answers 502")
        await still(pilot)

    return scene


def access_requests_scene(stage: Stage) -> Callable[[Any], Awaitable[None]]:
    """A manual request left pending, an auto-approved one held (the header counts down to
    its token's expiry), and the requests panel (A) showing both."""

    async def scene(pilot: Any) -> None:
        from sessiontui.ui.screens.access_request import AccessRequestScreen
        from sessiontui.ui.screens.access_requests import AccessRequestsScreen

        app = pilot.app
        pin_node_access(stage)
        await settle(pilot)
        header = app.main_screen.header
        for name, reason in (
            ("pay-ledger-01", "CHG-77: ledger index repair"),
            ("pay-api-01", "INC-1234: payments API answers 502"),
        ):
            await select_node(pilot, name)
            await pilot.press("a")
            await wait_for(
                pilot, lambda: isinstance(app.screen, AccessRequestScreen), "request dialog"
            )
            await pilot.press(*reason, "enter")
        await wait_for(pilot, lambda: header.role_name == REQUEST_IDS[1], "approved access held")
        statuses = {r.request_id: r.status for r in app.node_access.requests()}
        if statuses != {REQUEST_IDS[0]: "Pending", REQUEST_IDS[1]: "Approved"}:
            raise AssertionError(f"scene: the requests are {statuses}")
        app.clear_notifications()
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestsScreen), "panel")
        app.main_screen.tick()
        await still(pilot)

    return scene


DB_PORT = 15432  # the demo's orders preset: the frame shows it


async def scene_databases(pilot: Any) -> None:
    """The databases panel (D): the three demo databases with the bastion chosen for each and
    why, and the orders cluster's tunnel opened with Enter."""
    from sessiontui.ui.screens.databases import DatabasesScreen
    from sessiontui.ui.screens.reason import ReasonScreen

    app = pilot.app
    await settle(pilot)
    await pilot.press("D")
    await wait_for(pilot, lambda: isinstance(app.screen, DatabasesScreen), "databases panel")
    screen = app.screen
    await wait_for(pilot, lambda: screen.loaded, "databases listed", timeout=30)
    orders = next(
        i
        for i, r in enumerate(screen.rows)
        if (r.chosen.name, r.chosen.database.role) == ("orders", "writer")
    )
    await pilot.press("home", *["down"] * orders)
    await pilot.press("enter")
    await pilot.pause(0.3)
    if isinstance(app.screen, ReasonScreen):  # ProdOps asks why
        await pilot.press(*"OPS-1432: slow orders report", "enter")
    key = screen.rows[orders].chosen.database.key

    def ready() -> bool:
        entry = screen.tunnels.get(key)
        if entry is not None and entry.error:
            raise AssertionError(f"scene: the tunnel failed: {entry.error}")
        return entry is not None and entry.forward is not None and entry.forward.is_ready

    await wait_for(pilot, ready, "tunnel ready", timeout=30)
    app.clear_notifications()
    await pilot.pause(1.1)  # the panel's next redraw shows the tunnel's port
    await still(pilot)


RUN_SCRIPT = 'case "$(hostname)" in stg-web-03|stg-worker-0?) sleep 120;; esac\necho "$(hostname): nginx active"'
RUN_STATES = {"Success": 6, "InProgress": 2, "Pending": 1}


async def _run_mid_way(stage: Stage, pilot: Any) -> Any:
    """`/stg-w`, `e`, a script with MaxConcurrency 2 over two regions: two nodes of us-east-1
    sleep, so the grid stands still mid-run (6 Success, 2 InProgress, 1 Pending). The sandbox's
    clock stands on the FakeClock, so every TIME is the same each run."""
    from sessiontui.ui.screens.run import RunDialog, RunScreen

    app = pilot.app
    stage.pins.enter_context(mock.patch.object(stage.sandbox.state, "now", stage.clock.now))
    await settle(pilot)
    await pilot.press("slash", *"stg-w", "enter")
    app.main_screen.node_list.focus()
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, RunDialog), "run dialog")
    dialog = app.screen
    for name, value in (
        ("reason", "CHG-2041 nginx check"),
        ("concurrency", "2"),
        ("command", RUN_SCRIPT),
    ):
        dialog.query_one(f"#run-{name}").value = value
    dialog.query_one("#run-command").focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "run grid")
    grid = app.screen

    def states() -> dict[str, int]:
        found: dict[str, int] = {}
        for row in grid.rows:
            found[row.status] = found.get(row.status, 0) + 1
        return found

    await wait_for(pilot, lambda: states() == RUN_STATES, f"the grid at {RUN_STATES}", 40)
    app.clear_notifications()
    return grid


def run_grid_scene(stage: Stage) -> Callable[[Any], Awaitable[None]]:
    async def scene(pilot: Any) -> None:
        await _run_mid_way(stage, pilot)
        await still(pilot)

    return scene


def run_output_scene(stage: Stage) -> Callable[[Any], Awaitable[None]]:
    async def scene(pilot: Any) -> None:
        from sessiontui.ui.screens.run import OutputScreen

        await _run_mid_way(stage, pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OutputScreen), "output")
        await still(pilot)

    return scene


@dataclass(frozen=True)
class Scene:
    name: str
    caption: str
    role: str | None
    run: Callable[[Stage], Callable[[Any], Awaitable[None]]]
    mfa_asks: bool = False  # without the demo's TOTP secret: the MFA step waits for a code
    prepare: Prepare | None = None  # the services changed before the app is built
    # False where the frame shows ids AWS (and moto) make at random: endpoints, security groups
    snapshot: bool = True
    size: tuple[int, int] = SIZE  # the terminal's columns and rows


def _plain(scene: Callable[[Any], Awaitable[None]]) -> Callable[[Stage], Any]:
    return lambda _stage: scene


# Identity Center's scenes (sign-in, the portal's permission sets, two accounts) need this module
from ui_scenes_sso import sso_scenes  # noqa: E402

SCENES: tuple[Scene, ...] = (
    Scene(
        "main",
        "The fleet: two regions, hybrid nodes, why a node cannot connect",
        None,
        _plain(scene_main),
    ),
    Scene("filter", "Filter: `/project=Production web`", None, _plain(scene_filter)),
    Scene(
        "narrow",
        "At 80x24: the details under the list, `? Help` and `q Quit` always in the footer",
        None,
        _plain(scene_narrow),
        size=(80, 24),
    ),
    Scene("roles", "Take a role: defaults, maxima from IAM, scope", None, _plain(scene_roles)),
    Scene(
        "mfa",
        "The MFA step (the demo fills the code itself)",
        None,
        _plain(scene_mfa),
        mfa_asks=True,
    ),
    Scene(
        "forwards",
        "A port forward from a preset, in the forwards panel",
        ROLE,
        _plain(scene_forwards),
    ),
    Scene("shell-summary", "Back from a shell: how long, how it ended", ROLE, shell_scene),
    Scene(
        "access-request",
        "A governed node refuses the shell: request just-in-time access",
        JIT_ROLE,
        access_request_scene,
    ),
    Scene(
        "access-requests",
        "The requests panel: one pending, one approved and held",
        JIT_ROLE,
        access_requests_scene,
    ),
    Scene(
        "databases",
        "The databases panel (D): each database's bastion and why, a tunnel open",
        "ProdOps",
        _plain(scene_databases),
        snapshot=False,
    ),
    Scene(
        "run-grid",
        "Run Command mid-run: MaxConcurrency 2 in two regions, live per node",
        ROLE,
        run_grid_scene,
    ),
    Scene("run-output", "Enter: one node's whole output", ROLE, run_output_scene),
    *sso_scenes(),
)
SCENES_BY_NAME = {s.name: s for s in SCENES}


@contextlib.contextmanager
def staged(scene: Scene, sandbox: Any, home: Path) -> Iterator[Stage]:
    """The app for `scene` inside its environment; sessions it opened are ended on the way out."""
    with sandbox_environment(sandbox, home):
        if scene.mfa_asks:
            os.environ.pop("SESSIONTUI_DEMO_TOTP", None)
        stage: Stage | None = None
        try:
            stage = build_app(sandbox, role=scene.role, prepare=scene.prepare)
            with stage.pins:
                yield stage
        finally:
            for cleanup in stage.cleanups if stage is not None else ():
                cleanup()
            end_sessions()
