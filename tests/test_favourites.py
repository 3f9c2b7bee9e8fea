"""Favourites and recent targets: the filter terms, --connect's candidate order, the private
file, `*` in the TUI and `--connect` making a node recent."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import cli_env, run
from sessiontui.core.errors import TargetError
from sessiontui.core.marks import RECENT_MAX, Marks
from sessiontui.core.node import Node
from sessiontui.core.query import parse_query
from sessiontui.core.target import resolve_target
from sessiontui.stores.marks import MarksStore
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.widgets.node_list import NodeList
from sessiontui.ui.widgets.node_paint import FAVOURITE
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


def _web(i: int) -> Node:
    return Node(id=f"i-000000000000000{i}", region="us-east-1", name=f"web-0{i}",
                ping_status="Online", tags={"Name": f"web-0{i}", "Role": "web"})  # fmt: skip


WEBS = [_web(i) for i in range(1, 6)]


def test_is_fav_and_is_recent_read_the_marks_at_match_time() -> None:
    marks = Marks()
    fav, recent = parse_query("is:fav", marks=marks), parse_query("is:recent web", marks=marks)
    assert fav.filter(WEBS) == [] and recent.filter(WEBS) == []
    marks.toggle_favourite(WEBS[2].id)
    marks.touch(WEBS[4].id)
    marks.touch(WEBS[0].id)
    assert fav.filter(WEBS) == [WEBS[2]]
    assert recent.filter(WEBS) == [WEBS[0], WEBS[4]]
    # without marks (a caller that has none) the terms match nothing, never everything
    assert parse_query("is:fav").filter(WEBS) == []
    assert marks.toggle_favourite(WEBS[2].id) is False and fav.filter(WEBS) == []


def test_recent_is_most_recent_first_without_repeats_and_bounded() -> None:
    marks = Marks()
    for i in range(RECENT_MAX + 5):
        marks.touch(f"i-{i}")
    marks.touch("i-3")
    assert marks.recent[0] == "i-3" and len(marks.recent) == RECENT_MAX
    assert len(set(marks.recent)) == RECENT_MAX
    assert Marks.from_json({"version": 1, "favourites": ["a", 3], "recent": ["b", "b"]}) == Marks(
        {"a"}, ["b"]
    )
    assert Marks.from_json("garbage") == Marks()


def test_an_ambiguous_target_offers_favourites_then_recent_targets_first() -> None:
    marks = Marks()
    marks.touch(WEBS[1].id)
    marks.touch(WEBS[3].id)  # most recent
    marks.toggle_favourite(WEBS[4].id)
    with pytest.raises(TargetError) as info:
        resolve_target(WEBS, "Role=web", marks)
    lines = info.value.candidates
    assert [line.split()[0] for line in lines] == [
        WEBS[4].id, WEBS[3].id, WEBS[1].id, WEBS[0].id, WEBS[2].id
    ]  # fmt: skip
    assert lines[0].endswith("(favourite)") and lines[1].endswith("(recent)")
    with pytest.raises(TargetError) as plain:
        resolve_target(WEBS, "Role=web")
    assert [line.split()[0] for line in plain.value.candidates] == [n.id for n in WEBS]


def test_the_store_is_private_atomic_and_merges_concurrent_changes(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "sessiontui"
    one, two = MarksStore(folder), MarksStore(folder)
    assert one.load() == Marks()  # no file yet
    one.update(lambda m: m.set_favourite("i-1", True))
    two.touch("i-2")  # another process: it reads the file afresh, so i-1 stays
    assert one.load() == Marks({"i-1"}, ["i-2"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(one.file.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")] == []
    one.file.write_text("{not json", encoding="utf-8")
    assert one.load() == Marks()  # a damaged file costs the marks, never a crash


async def test_star_marks_a_favourite_and_is_fav_finds_it(tmp_path: Path) -> None:
    store = MarksStore(tmp_path / "marks")
    fleet = make_fleet(20)
    app = SessiontuiApp(fake_services(FakeFleet(fleet), marks_store=store))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        chosen = nodes.visible_nodes()[3]
        nodes.select_id(chosen.id)
        await pilot.press("asterisk")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert FAVOURITE + chosen.display_name in nodes.render_line(nodes.cursor + 1).text
        assert store.load().favourites == {chosen.id}
        await pilot.press("slash", *"is:fav", "enter")
        await pilot.pause()
        assert nodes.visible_nodes() == [chosen]
        await pilot.press("asterisk")  # unmark: the filter follows
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert nodes.visible_nodes() == [] and store.load().favourites == set()
    # the next run starts with what this one kept
    store.update(lambda m: m.set_favourite(fleet[0].id, True))
    app = SessiontuiApp(fake_services(FakeFleet(fleet), marks_store=store, filter_text="is:fav"))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main_screen.query_one(NodeList).visible_nodes() == [fleet[0]]


def test_connect_makes_its_node_recent_for_is_recent_and_the_candidates(
    sandbox: Any, tmp_path: Path
) -> None:
    if sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    fleet = json.loads(run(sandbox, tmp_path, "--list", "--json").stdout)
    staging = [n for n in fleet if n["tags"].get("project") == "Staging" and n["connectable"]]
    target = staging[-1]  # last by name: only being recent can bring it first
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "sessiontui",
            "--connect",
            target["id"],
            "--role",
            "StagingDev",
        ],
        # the code comes from the demo's TOTP source when AssumeRole is sent (a code taken
        # here could fall out of the accepted windows on a loaded machine)
        env=cli_env(sandbox, tmp_path),
        timeout=30,
        encoding="utf-8",
    )
    try:
        child.expect(r"\$ ")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    listed = run(sandbox, tmp_path, "--list", "--json", "--filter", "is:recent")
    assert listed.returncode == 0, listed.stderr
    assert [n["id"] for n in json.loads(listed.stdout)] == [target["id"]]
    ambiguous = run(sandbox, tmp_path, "--connect", "project=Staging", "--role", "StagingDev")
    assert ambiguous.returncode == 2
    candidates = ambiguous.stderr.splitlines()[1:]
    assert len(candidates) == sum(n["tags"].get("project") == "Staging" for n in fleet) > 1
    assert candidates[0].split()[0] == target["id"] and candidates[0].endswith("(recent)")
    assert not any(line.endswith(")") for line in candidates[1:])
