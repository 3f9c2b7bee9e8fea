"""The inventory cache: the whole fleet and its head, private files, damaged files ignored."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sessiontui.core.node import HYBRID, Node, sort_key
from sessiontui.stores.inventory import HEAD_ROWS, InventoryCache


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def fleet(n: int) -> list[Node]:
    return [
        Node(
            id=f"i-{i:017x}" if i % 7 else f"mi-{i:017x}",
            region="us-east-1" if i % 2 else "eu-west-1",
            name=f"node-{n - i:05d}",
            ping_status="Online" if i % 5 else "ConnectionLost",
            resource_type=HYBRID if i % 7 == 0 else "EC2Instance",
            tags={"Name": f"node-{n - i:05d}", "project": "P"},
            managed=bool(i % 11),
        )
        for i in range(n)
    ]


def test_round_trip_keeps_every_field_in_display_order() -> None:
    nodes = fleet(500)
    cache = InventoryCache("prof", "Role", ["us-east-1", "eu-west-1"], "http://x")
    cache.save(nodes)
    loaded = cache.load()
    assert loaded is not None
    back, age = loaded
    assert back == sorted(nodes, key=sort_key)
    assert 0 <= age < 5


def test_head_is_the_first_screenful_and_says_whether_it_is_whole() -> None:
    cache = InventoryCache(None, None, ["us-east-1"])
    cache.save(fleet(HEAD_ROWS + 50))
    head = cache.load_head()
    assert head is not None
    nodes, _, whole = head
    assert len(nodes) == HEAD_ROWS and not whole
    assert nodes == sorted(fleet(HEAD_ROWS + 50), key=sort_key)[:HEAD_ROWS]
    small = InventoryCache(None, "other", ["us-east-1"])
    small.save(fleet(10))
    assert small.load_head() is not None and small.load_head()[2] is True  # type: ignore[index]


def test_files_are_private_and_keys_separate_identities() -> None:
    a = InventoryCache("a", None, ["us-east-1"])
    b = InventoryCache("b", None, ["us-east-1"])
    a.save(fleet(3))
    assert b.load() is None
    for path in (a.path, a.head_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(a.path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        '{"version": 1, "nodes": []}',
        '{"version": 2, "fields": [], "rows": [], "saved_at": 0}',
        "[1, 2, 3]",
    ],
)
def test_damaged_or_old_files_are_ignored(content: str) -> None:
    cache = InventoryCache(None, None, ["us-east-1"])
    cache.save(fleet(5))
    cache.path.write_text(content)
    cache.head_path.write_text(content)
    assert cache.load() is None
    assert cache.load_head() is None
    cache.save(fleet(5))  # and replaced by the next listing
    assert cache.load() is not None


def test_rows_with_wrong_types_are_refused() -> None:
    cache = InventoryCache(None, None, ["us-east-1"])
    cache.save(fleet(3))
    text = cache.path.read_text().replace('"Online"', "7", 1)
    cache.path.write_text(text)
    assert cache.load() is None


def test_rows_are_a_line_each_and_a_file_in_one_line_still_loads() -> None:
    """Saved and read row by row, so a worker thread saving or loading 10,000 rows never holds
    the GIL for one long json call; the file stays one JSON object, and one written in a single
    line (as before) reads the same."""
    import json

    nodes = fleet(50)
    odd = nodes[0].with_updates(name="line\nbreak \u2028 é", tags={"Name": "x,\n]}"})
    cache = InventoryCache("prof", "Role", ["us-east-1"], None)
    cache.save([odd, *nodes[1:]])
    text = cache.path.read_text(encoding="utf-8")
    assert len(text.split("\n")) == 50 + 2
    data = json.loads(text)
    assert len(data["rows"]) == 50
    loaded = cache.load()
    assert loaded is not None and odd in loaded[0]
    cache.path.write_text(json.dumps(data), encoding="utf-8")  # one line
    again = cache.load()
    assert again is not None and again[0] == loaded[0]
