"""FleetRows, the node list's model, without Textual: order, filter, scope, streaming updates."""

from __future__ import annotations

from dataclasses import replace

from sessiontui.core.fleet_rows import FleetRows
from test_ui_support import make_fleet


def names(rows: FleetRows) -> list[str]:
    return [n.display_name for n in rows.visible_nodes()]


def test_rows_show_in_name_order_and_filter_by_words_and_terms() -> None:
    rows = FleetRows()
    rows.replace(make_fleet(40), stale=True)
    assert names(rows) == sorted(names(rows), key=str.casefold) and len(rows.visible) == 40
    assert all(rows.stale)
    rows.set_query("web")
    assert names(rows) and all("web" in n for n in names(rows))
    rows.set_query("project=Staging region:eu")
    assert rows.visible_nodes() and all(
        n.tags["project"] == "Staging" and n.region == "eu-west-1" for n in rows.visible_nodes()
    )
    rows.set_query("")
    assert len(rows.visible) == 40


def test_upsert_updates_in_place_and_end_listing_drops_what_aws_no_longer_has() -> None:
    fleet = make_fleet(20)
    rows = FleetRows()
    rows.replace(fleet, stale=True)
    rows.begin_listing()
    first = fleet[0]
    renamed = replace(first, name="zzz-last", tags={**first.tags, "Name": "zzz-last"})
    assert rows.upsert([renamed, *fleet[1:10]]) == 10  # one changed, nine no longer stale
    i = rows.row_of(first.id)
    assert i is not None and rows.version[i] == 1 and not rows.stale[i]
    assert names(rows)[-1] == "zzz-last"  # re-sorted by its new name
    assert rows.upsert(fleet[1:10]) == 0  # nothing new: no refilter needed
    assert rows.seen_count == 10
    # us-east-1 was listed completely: its rows the listing never mentioned are gone
    dropped = rows.end_listing(["us-east-1"])
    gone = [n for n in fleet[10:] if n.region == "us-east-1"]
    assert dropped == len(gone) and all(rows.node(n.id) is None for n in gone)
    assert all(rows.node(n.id) is not None for n in fleet[10:] if n.region == "eu-west-1")


def test_scope_hides_rows_until_shown_with_their_reason() -> None:
    rows = FleetRows()
    rows.replace(make_fleet(30))
    rows.set_scope({"project": "Production"})
    assert rows.hidden_out_of_scope > 0
    assert all(n.tags["project"] == "Production" for n in rows.visible_nodes())
    assert rows.set_show_out_of_scope(True) and len(rows.visible) == 30
    assert not rows.set_show_out_of_scope(True)
    assert rows.hidden_out_of_scope == 0
    outside = [i for i in rows.visible if rows.scope_reason[i]]
    assert outside and all("project" in rows.scope_reason[i] for i in outside)


def test_a_refresh_keeps_what_its_later_calls_bring_and_ping_only_changes_repaint_nothing() -> None:
    """A listing's first page on a node lacks what DescribeInstances (an EC2 node's name, tags,
    state) or ListTagsForResource (a hybrid's tags) bring later: the row keeps them meanwhile
    instead of losing its name and moving. What the later calls bring is taken as it comes,
    an empty tag list too. A new LastPingDateTime alone changes no rendered row."""
    fleet = make_fleet(20)
    ec2 = next(n for n in fleet if not n.is_hybrid and n.state == "running" and n.tags)
    hybrid = next(n for n in fleet if n.is_hybrid and n.tags)
    rows = FleetRows()
    rows.replace(fleet, stale=True)
    order = names(rows)
    rows.begin_listing()
    rows.upsert([replace(ec2, name="", tags={}, state=""), replace(hybrid, tags={})])
    assert rows.node(ec2.id) == ec2 and rows.node(hybrid.id) == hybrid
    assert names(rows) == order
    rows.upsert([replace(ec2, name="renamed", tags={"Name": "renamed"}), replace(hybrid, tags={})])
    assert rows.node(ec2.id).name == "renamed"  # type: ignore[union-attr]
    assert rows.node(hybrid.id).tags == {}  # type: ignore[union-attr]

    online = next(n for n in fleet if n.ping_status == "Online" and n.id not in (ec2.id, hybrid.id))
    row = rows.row_of(online.id)
    assert row is not None
    rows.upsert([online])  # seen by this listing: no longer drawn as stale
    before = rows.version[row]
    rows.upsert([replace(online, last_ping="2030-01-01T00:00:00+00:00")])
    assert rows.version[row] == before  # the rendered line stays good
    assert rows.node(online.id).last_ping == "2030-01-01T00:00:00+00:00"  # type: ignore[union-attr]


def test_the_order_kept_in_place_across_pages_is_the_full_sort() -> None:
    """Pages rename and add rows; the order is patched where few moved and must equal a sort."""
    import random

    rng = random.Random(28)
    fleet = make_fleet(700)
    rows = FleetRows()
    rows.replace(fleet[:400])
    for page in range(30):
        known = rows.nodes
        renamed = [
            replace(known[i], name=f"n{rng.randrange(500)}")
            for i in rng.sample(range(len(known)), 15)
        ]
        rows.upsert(renamed + fleet[400 + 10 * page : 410 + 10 * page])
        keys = rows._keys
        assert rows._order == sorted(range(len(rows.nodes)), key=keys.__getitem__)
        assert rows.visible == rows._order


def test_rows_changed_in_place_are_filed_as_a_whole_refilter_files_them() -> None:
    """A refresh's pages change rows in place (a tag moves a row into or out of the query and the
    role's scope, its name and so its place kept): each such row alone goes in or out of
    `visible`. What is shown, and the count hidden out of scope, must be what a whole refilter
    of the same rows gives."""
    import random

    rng = random.Random(15)
    fleet = make_fleet(600)
    projects = ["Production", "Staging", "Development"]
    for query, scope, show_out in [
        ("staging", None, False),
        ("", {"project": "Production"}, False),
        ("web project=Staging", {"project": "Staging"}, False),
        ("staging", {"project": "Production"}, True),
    ]:
        rows = FleetRows()
        rows.replace(fleet, stale=True)
        rows.set_scope(scope)
        rows.set_query(query)
        rows.set_show_out_of_scope(show_out)
        rows.begin_listing()
        for _ in range(25):
            known = rows.nodes
            page = [
                replace(n, tags={**n.tags, "project": rng.choice(projects)})
                for n in (known[i] for i in rng.sample(range(len(known)), 40))
            ]
            assert rows.upsert(page)
            whole = FleetRows()
            whole.replace(rows.nodes)
            whole.set_scope(scope)
            whole.set_query(query)
            whole.set_show_out_of_scope(show_out)
            assert rows.visible == whole.visible
            assert rows.hidden_out_of_scope == whole.hidden_out_of_scope
        rows.set_show_out_of_scope(False)
        assert rows.hidden_out_of_scope == sum(1 for r in rows.scope_reason if r)
        # the rows of us-east-1 no page mentioned are gone, and their reasons with them
        assert rows.end_listing(["us-east-1"]) > 0
        assert rows.hidden_out_of_scope == sum(1 for r in rows.scope_reason if r)


def test_a_filter_typed_longer_shows_what_a_whole_refilter_shows() -> None:
    """Typing onto the filter narrows from the rows shown; a key that widens it (a backspace),
    a term that is not a free word, or a word the old ones are not part of filters them all."""
    fleet = make_fleet(300)
    rows = FleetRows()
    rows.replace(fleet)
    rows.set_scope({"project": "Production"})
    typed = [
        "p",
        "pr",
        "prod",
        "prod w",
        "prod we",
        "prod web",
        "prod we",
        "prod",
        "prod region:eu",
        "prod region:eu web",
        "web",
        "web-0",
        "web-01",
        "eb-01",
        "",
        "staging",
    ]
    for text in typed:
        rows.set_query(text)
        whole = FleetRows()
        whole.replace(rows.nodes)
        whole.set_scope({"project": "Production"})
        whole.set_query(text)
        assert rows.visible == whole.visible, text
