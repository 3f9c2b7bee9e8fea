"""The TUI's listing in a child process: same nodes as in-process, errors, calls, and it stops."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.inventory import list_fleet
from sessiontui.aws.listing_process import list_fleet_in_child
from sessiontui.core.node import Node


@pytest.fixture
def env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    sandbox.clear_faults()
    yield sandbox
    sandbox.clear_faults()


def _comparable(nodes: list[Node]) -> list[dict[str, Any]]:
    # last_ping (and the why that quotes it) moves as the agents ping between two listings
    return sorted(
        ({**n.to_json(), "last_ping": "", "why": ""} for n in nodes), key=lambda d: d["id"]
    )


def test_same_nodes_pages_and_calls_as_in_process(env: Any) -> None:
    regions = list(env.regions)
    pages: list[tuple[str, int]] = []
    calls: Counter[str] = Counter()
    child = list_fleet_in_child(
        ClientFactory(), regions, on_nodes=lambda r, ns: pages.append((r, len(ns))), calls=calls
    )
    here = list_fleet(ClientFactory(), regions)
    assert child.errors == [] and not child.cancelled
    assert _comparable(child.nodes) == _comparable(here.nodes)
    assert {r for r, _ in pages} == set(regions) and sum(n for _, n in pages) >= len(child.nodes)
    assert calls["DescribeInstanceProperties"] >= len(regions)
    assert calls["DescribeInstances"] >= len(regions)


def test_a_small_first_page_brings_the_same_fleet_with_one_call_more(env: Any) -> None:
    """A TUI with nothing cached asks each region's first page small (issue 25): the pages go
    on from its token, and the fleet is the same as listed with pages of 1,000."""
    from sessiontui.aws.listing_process import list_fleets_in_child

    regions = list(env.regions)
    calls: Counter[str] = Counter()
    (small,) = list_fleets_in_child([ClientFactory()], regions, calls=calls, first_page=5)
    here = list_fleet(ClientFactory(), regions)
    assert small.errors == [] and _comparable(small.nodes) == _comparable(here.nodes)
    bigger = {r for r in regions if sum(n.region == r and n.managed for n in here.nodes) > 5}
    assert bigger, "the demo fleet has more than five nodes in a region"
    assert calls["DescribeInstanceProperties"] == len(regions) + len(bigger)


def test_role_credentials_cross_to_the_child(env: Any) -> None:
    from sessiontui.core.credentials import Credentials

    raw = env.role_credentials("FleetAdmin", 3600)
    creds = Credentials(raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"])
    result = list_fleet_in_child(ClientFactory().with_credentials(creds), [env.regions[0]])
    assert result.errors == [] and result.nodes


def test_failures_come_back_with_their_regions(env: Any) -> None:
    env.down = True
    failed: list[str] = []
    result = list_fleet_in_child(
        ClientFactory(), list(env.regions), on_error=lambda r, t: failed.append(r)
    )
    assert sorted(e.region for e in result.errors) == sorted(env.regions) == sorted(failed)
    assert result.nodes == [] and all("ServiceUnavailable" in e.message for e in result.errors)


def test_cancel_kills_the_child_at_once(env: Any) -> None:
    env.throttle_rate = 1.0  # every call throttled: the listing would take minutes
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    began = time.monotonic()
    result = list_fleet_in_child(ClientFactory(), list(env.regions), cancel=cancel)
    assert result.cancelled
    assert time.monotonic() - began < 5


def test_the_child_stops_when_its_parent_goes(env: Any) -> None:
    env.throttle_rate = 1.0
    child = subprocess.Popen(
        [sys.executable, "-m", "sessiontui.aws.listing_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdin is not None
    child.stdin.write(
        '{"regions": ["us-east-1"], "listings": [{"profile": null, "credentials": null}]}\n'
    )
    child.stdin.flush()
    time.sleep(0.5)
    assert child.poll() is None  # still listing, throttled
    child.stdin.close()  # what a parent's death does to the pipe
    assert child.wait(timeout=30) in (0, 1)


def test_several_accounts_list_side_by_side_in_one_child(env: Any) -> None:
    """One fleet across accounts: each account's credentials list in the same child, and each
    page says whose listing it belongs to."""
    from sessiontui.aws.listing_process import list_fleets_in_child
    from sessiontui.core.credentials import Credentials
    from sessiontui_sandbox.accounts import PRODUCTION_ACCOUNT
    from sso_support import role_keys, sign_in

    token = sign_in(env)[1]["accessToken"]
    keys = role_keys(env, token, PRODUCTION_ACCOUNT, "ProductionAccess")
    production = ClientFactory().with_credentials(
        Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    )
    pages: Counter[int] = Counter()
    regions = list(env.regions)
    base, prod = list_fleets_in_child(
        [ClientFactory(), production],
        regions,
        on_nodes=lambda index, region, nodes: pages.update({index: len(nodes)}),
    )
    assert base.errors == [] and prod.errors == []
    assert _comparable(prod.nodes) == _comparable(list_fleet(production, regions).nodes)
    assert {n.id for n in prod.nodes}.isdisjoint(n.id for n in base.nodes)
    assert any(n.name == "prod-api-01" for n in prod.nodes)
    assert pages[0] >= len(base.nodes) and pages[1] >= len(prod.nodes)
    assert base.preferences is None and prod.preferences is None  # not asked for


def test_the_child_reads_the_asked_accounts_session_preferences(env: Any) -> None:
    """The details pane's idle timeout and maximum duration come from the listing child, so the
    TUI's interpreter makes no botocore client (whose model parsing stalls frames)."""
    from sessiontui.aws.listing_process import list_fleets_in_child
    from sessiontui.aws.sessions import session_preferences

    regions = list(env.regions)
    (result,) = list_fleets_in_child([ClientFactory()], regions, preferences_of=0)
    assert result.errors == []
    expected = {r: session_preferences(ClientFactory().client("ssm", r)) for r in regions}
    assert result.preferences == {r: p for r, p in expected.items() if p is not None}
    assert result.preferences, "the sandbox saves Session Manager preferences"


def _listing_children() -> list[int]:
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            for pid in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if b"sessiontui.aws.listing_child" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(int(pid))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
def test_the_child_is_background_work_in_the_tuis_scheduling_group(env: Any) -> None:
    from sessiontui.aws.listing_child import LISTING_NICENESS

    env.throttle_rate = 1.0  # the listing lasts while we look at its process
    cancel = threading.Event()
    worker = threading.Thread(
        target=lambda: list_fleet_in_child(ClientFactory(), [env.regions[0]], cancel=cancel)
    )
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (children := _listing_children()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(children) == 1
        pid = children[0]
        while os.getpriority(os.PRIO_PROCESS, pid) != LISTING_NICENESS:
            assert time.monotonic() < deadline, "the child never lowered its priority"
            time.sleep(0.02)
        # the terminal's Ctrl-C goes to the TUI's process group, not to the child's
        assert os.getpgid(pid) == pid != os.getpgid(0)
        # one session, so one scheduling group: Linux gives a new session an autogroup of its
        # own, inside which nice 10 weighs nothing against the TUI
        assert os.getsid(pid) == os.getsid(0)
        autogroup = Path("/proc/self/autogroup")
        if autogroup.exists():
            assert Path(f"/proc/{pid}/autogroup").read_text() == autogroup.read_text()
    finally:
        cancel.set()
        worker.join(10)


def test_a_large_page_goes_to_the_tui_in_messages_it_decodes_in_a_moment() -> None:
    from sessiontui.aws.listing_child import RowBatches

    sent: list[dict[str, Any]] = []
    batches = RowBatches(sent.append)
    rows = [[f"i-{n:017x}"] for n in range(4_500)]  # one region's EC2 merge, as the child sees it
    batches.add(0, "us-east-1", rows)
    batches.add(0, "us-east-1", rows[:30])  # less than a batch waits for the flush
    assert sum(len(m["rows"]) for m in sent) == 4_500
    batches.flush()
    assert all(len(m["rows"]) <= RowBatches.MESSAGE_ROWS for m in sent)
    assert [r for m in sent for r in m["rows"]] == rows + rows[:30]
    assert {(m["listing"], m["nodes"]) for m in sent} == {(0, "us-east-1")}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
def test_a_child_started_ahead_is_the_one_the_listing_asks(env: Any) -> None:
    """A TUI with nothing cached starts its listing child before Textual's import (ui.launch,
    issue 25): that child, with boto3 imported while it waited, lists; no second one starts."""
    from sessiontui.aws.listing_process import prespawn

    prespawn()
    deadline = time.monotonic() + 10
    while not (found := _listing_children()) and time.monotonic() < deadline:
        time.sleep(0.05)  # seen empty once right after the spawn, on a loaded machine
    (ahead,) = found
    seen: set[int] = set()
    result = list_fleet_in_child(
        ClientFactory(), [env.regions[0]], on_nodes=lambda r, ns: seen.update(_listing_children())
    )
    assert result.errors == [] and result.nodes
    assert seen == {ahead}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
def test_a_child_asked_ahead_gives_its_pages_to_the_same_listing(env: Any) -> None:
    """With nothing cached and no --role, ui.launch sends the first refresh's request with the
    spawn: the refresh that asks the same takes that child and its pages, and starts none."""
    from sessiontui.aws.listing_process import list_fleets_in_child, prespawn

    regions = [env.regions[0]]
    prespawn([ClientFactory()], regions, 0, 50)
    deadline = time.monotonic() + 10
    while not (found := _listing_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (ahead,) = found
    # at our priority until its first rows are out (the operator waits for them)
    assert os.getpriority(os.PRIO_PROCESS, ahead) == os.getpriority(os.PRIO_PROCESS, 0)
    seen: set[int] = set()
    (result,) = list_fleets_in_child(
        [ClientFactory()],
        regions,
        on_nodes=lambda i, r, ns: seen.update(_listing_children()),
        preferences_of=0,
        first_page=50,
    )
    assert result.errors == [] and result.nodes
    assert seen == {ahead}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
def test_a_child_asked_something_else_ahead_is_not_used(env: Any) -> None:
    from sessiontui.aws.listing_process import prespawn

    prespawn([ClientFactory()], list(env.regions), 0, 50)
    deadline = time.monotonic() + 10
    while not (found := _listing_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (ahead,) = found
    seen: set[int] = set()
    result = list_fleet_in_child(
        ClientFactory(), [env.regions[0]], on_nodes=lambda r, ns: seen.update(_listing_children())
    )
    assert result.errors == [] and result.nodes
    assert seen and ahead not in seen
    assert ahead not in _listing_children()  # killed and waited for, not left listing


def test_a_flush_cut_off_mid_write_is_written_before_the_last_flush_returns() -> None:
    """The child writes "done" after its last flush, and the TUI stops reading there: rows the
    timer's flush had taken, but not yet written, were lost behind it (CI, a region's EC2 merge)."""
    from sessiontui.aws.listing_child import RowBatches

    written: list[str] = []
    writing = threading.Event()
    let_go = threading.Event()

    def send(message: dict[str, Any]) -> None:
        if message["nodes"] == "eu-west-1":
            writing.set()
            let_go.wait(10)  # the timer's flush, descheduled between taking and writing
        written.extend(row[0] for row in message["rows"])

    batches = RowBatches(send)
    batches.add(0, "us-east-1", [["i-first"]])  # a region's first rows go at once
    batches.started.add((0, "eu-west-1"))
    batches.add(0, "eu-west-1", [["i-merged"], ["i-agentless"]])  # waits for a flush
    timer = threading.Thread(target=batches.flush)
    timer.start()
    assert writing.wait(10)

    def last_flush_then_done() -> None:
        batches.flush()
        written.append("done")

    final = threading.Thread(target=last_flush_then_done)
    final.start()
    final.join(0.5)  # returning now, with the timer's rows unwritten, is the bug
    let_go.set()
    timer.join(10)
    final.join(10)
    assert written == ["i-first", "i-merged", "i-agentless", "done"]
