"""Shared helpers for the UI tests (no tests here): a seeded fake fleet fed through list_fleet's callbacks."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.inventory import FleetResult, RegionError
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import AuthError
from sessiontui.core.node import HYBRID, Node
from sessiontui.stores.marks import MarksStore
from sessiontui.ui.services import AppServices

PROJECTS = ("Production", "Staging", "Shared")
ROLES = ("web", "db", "worker", "bastion")
REGIONS = ["us-east-1", "eu-west-1"]


def make_fleet(count: int = 40, regions: list[str] | None = None) -> list[Node]:
    regions = regions or REGIONS
    nodes = []
    for i in range(count):
        region = regions[i % len(regions)]
        project = PROJECTS[i % len(PROJECTS)]
        role = ROLES[i % len(ROLES)]
        hybrid = i % 10 == 9
        nid = f"mi-{i:017x}" if hybrid else f"i-{i:017x}"
        ping, state, managed = "Online", "" if hybrid else "running", True
        if i % 13 == 5:
            ping = "ConnectionLost"
        if i % 17 == 7 and not hybrid:
            ping, state = "ConnectionLost", "stopped"
        name = f"{project.lower()}-{role}-{i:02d}"
        nodes.append(
            Node(
                id=nid,
                region=region,
                name=name,
                ping_status=ping,
                platform="Linux",
                platform_name="Amazon Linux",
                resource_type=HYBRID if hybrid else "EC2Instance",
                tags={"Name": name, "project": project, "Role": role},
                private_ip=f"10.0.{i // 250}.{i % 250 + 1}",
                agent_version="3.3.0.0",
                state=state,
                managed=managed,
            )
        )
    return nodes


class FakeFleet:
    """Stands in for aws.inventory.list_fleet: pages through the same callbacks, can fail a region."""

    def __init__(self, nodes: list[Node], page: int = 7) -> None:
        self.nodes = list(nodes)
        self.page = page
        self.fail: dict[str, str] = {}
        self.calls = 0
        self.gate: threading.Event | None = None  # when set, listing waits for it

    def __call__(
        self,
        factory: Any,
        regions: list[str],
        on_nodes: Callable[[str, list[Node]], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> FleetResult:
        self.calls += 1
        self.cancel = cancel
        if self.gate is not None:
            self.gate.wait(10)
        result = FleetResult()
        for region in regions:
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            if region in self.fail:
                result.errors.append(RegionError(region, self.fail[region]))
                if on_error:
                    on_error(region, self.fail[region])
                continue
            mine = [n for n in self.nodes if n.region == region]
            for start in range(0, len(mine), self.page):
                if on_nodes:
                    on_nodes(region, mine[start : start + self.page])
            result.nodes.extend(mine)
        return result

    def update(self, node_id: str, **changes: Any) -> Node:
        for i, n in enumerate(self.nodes):
            if n.id == node_id:
                self.nodes[i] = n.with_updates(**changes)
                return self.nodes[i]
        raise KeyError(node_id)


class NoAws(ClientFactory):
    """The base identity of a fake fleet: it names no profile and reaches no AWS, failing at
    once as a refused identity does, where a real factory would wait on the network."""

    @property
    def session(self) -> Any:  # type: ignore[override]
        raise AuthError("a fake fleet has no AWS behind it")


def fake_services(fleet: FakeFleet, **kw: Any) -> AppServices:
    kw.setdefault("clock", FakeClock())
    # favourites and recent targets in a folder of their own, never the real state folder
    kw.setdefault("marks_store", MarksStore(Path(tempfile.mkdtemp(prefix="sessiontui-marks-"))))
    return AppServices(factory=NoAws(), regions=list(REGIONS), list_fleet=fleet, **kw)


async def settle(app: Any, pilot: Any) -> None:
    """Let the listing worker finish, its messages land and its last pages be applied."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await listed(app, pilot)
    await pilot.pause()
    await pilot.pause()


async def listed(app: Any, pilot: Any, timeout: float = 10) -> None:
    """Until the fleet screen has applied a finished refresh's last pages (paced, after the
    worker's end)."""
    import time

    screen = getattr(app, "main_screen", None)
    deadline = time.monotonic() + timeout
    while screen is not None and screen.listing and time.monotonic() < deadline:
        await pilot.pause(0.02)


class ScriptedShell:
    """What SessionSupervisor.open_shell returns, for a headless app: the shell's end as
    scripted, no terminal handed over."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.abandoned = ""

    def run(self, *, handle_signals: bool = True) -> Any:
        return self.result

    def abandon(self, why: str) -> None:
        self.abandoned = why
