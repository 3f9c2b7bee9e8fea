from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli_support import DESIGN_JSON_FIELDS
from sessiontui.core.clock import FakeClock
from sessiontui.core.durations import (
    check_duration,
    format_duration,
    format_remaining,
    parse_duration,
    remaining_seconds,
)
from sessiontui.core.errors import AuthError, ExitCode, TargetError, UsageError
from sessiontui.core.node import HYBRID, Node
from sessiontui.core.scope import in_scope, out_of_scope_reason
from sessiontui.core.target import resolve_target


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("900", 900), ("900s", 900), ("45m", 2700), ("2h", 7200), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "2 days", "-5m", "0s", "h"])
def test_parse_duration_rejects_nonsense_with_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(text)
    assert info.value.exit_code == ExitCode.USAGE


def test_format_duration_and_remaining() -> None:
    assert format_duration(5400) == "1h30m"
    assert format_duration(45) == "45s"
    assert format_remaining(3723.9) == "1:02:03"
    assert format_remaining(-5) == "0:00:00"


def test_check_duration_rules() -> None:
    check_duration(900, 3600, chained=False)
    with pytest.raises(UsageError):
        check_duration(899, 3600, chained=False)
    with pytest.raises(AuthError, match="maximum of 4h"):
        check_duration(5 * 3600, 4 * 3600, chained=False)
    with pytest.raises(AuthError, match="chaining"):
        check_duration(7200, 4 * 3600, chained=True)
    check_duration(3600, 4 * 3600, chained=True)


def test_fake_clock_drives_remaining_time() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    expires = clock.now() + timedelta(minutes=10)
    assert remaining_seconds(expires, clock.now()) == 600
    clock.advance(599)
    assert format_remaining(remaining_seconds(expires, clock.now())) == "0:00:01"
    clock.advance(5)
    assert remaining_seconds(expires, clock.now()) == 0


def _node(**kw: object) -> Node:
    base: dict[str, object] = {
        "id": "i-0000000000000001",
        "region": "us-east-1",
        "ping_status": "Online",
        "state": "running",
    }
    base.update(kw)
    return Node(**base)  # type: ignore[arg-type]


def test_connectable_and_why() -> None:
    assert _node().connectable
    lost = _node(ping_status="ConnectionLost", last_ping="2026-11-20T10:00:00+00:00")
    assert not lost.connectable and "ConnectionLost since 2026-11-20" in lost.why
    assert "stopped" in _node(state="stopped").why
    assert "no agent" in _node(managed=False, ping_status="").why


def test_node_json_has_the_documented_fields_and_round_trips() -> None:
    node = _node(
        name="web",
        tags={"Name": "web", "project": "P"},
        resource_type=HYBRID,
        id="mi-0123456789abcdef0",
    )
    data = node.to_json()
    for key in DESIGN_JSON_FIELDS:
        assert key in data
    assert Node.from_json(data) == node


def test_a_node_with_updates_is_the_node_replace_would_make() -> None:
    """Node.with_updates copies the slots itself (fast, a refresh merges every EC2 node): it
    must make what dataclasses.replace makes, leave the original alone, and refuse a name Node
    has no field for."""
    from dataclasses import replace

    old = Node(id="i-1", region="eu-west-1", name="web", tags={"Name": "web"}, state="running")
    changes = {"name": "db", "tags": {"Name": "db"}, "state": "stopped", "last_ping": "x"}
    new = old.with_updates(**changes)
    assert new == replace(old, **changes)
    assert (old.name, old.state, old.tags) == ("web", "running", {"Name": "web"})
    assert old.with_updates() == old
    with pytest.raises(AttributeError):
        old.with_updates(nmae="typo")


def test_scope() -> None:
    node = _node(tags={"project": "Production"})
    assert in_scope(node, {"project": "Production"})
    assert in_scope(node, {})
    assert "project=Production (needs project=Staging)" in out_of_scope_reason(
        node, {"project": "Staging"}
    )
    assert "no team tag" in out_of_scope_reason(node, {"team": "ops"})


FLEET = [
    _node(id="i-0000000000000001", name="web-01", tags={"Name": "web-01", "Role": "web"}),
    _node(id="i-0000000000000002", name="web-02", tags={"Name": "web-02", "Role": "web"}),
    _node(id="i-0000000000000003", name="db-01", tags={"Name": "db-01", "Role": "db"}),
    _node(id="i-0000000000000004", name="dup", region="eu-west-1"),
    _node(id="i-0000000000000005", name="dup"),
]


def test_resolve_target_by_id_name_and_tag() -> None:
    assert resolve_target(FLEET, "i-0000000000000002").name == "web-02"
    assert resolve_target(FLEET, "db-01").id == "i-0000000000000003"
    assert resolve_target(FLEET, "Role=db").name == "db-01"


def test_resolve_target_ambiguous_lists_candidates() -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(FLEET, "Role=web")
    assert info.value.exit_code == ExitCode.USAGE
    assert len(info.value.candidates) == 2
    with pytest.raises(TargetError, match="2 nodes are named 'dup'"):
        resolve_target(FLEET, "dup")


def test_resolve_target_partial_is_not_a_match() -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(FLEET, "web")
    assert "did you mean" in info.value.message
    with pytest.raises(TargetError, match="no node matches"):
        resolve_target(FLEET, "nothing-like-it")


def test_facet_counts_count_each_tag_value() -> None:
    from sessiontui.core.facets import facet_counts

    counts = facet_counts(FLEET)
    assert counts["Role"] == {"web": 2, "db": 1}
    assert counts["Name"]["web-01"] == 1
    assert facet_counts([]) == {}
