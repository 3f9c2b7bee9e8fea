from __future__ import annotations

import pytest

from sessiontui.core.errors import UsageError
from sessiontui.core.node import HYBRID, Node
from sessiontui.core.query import parse_query, tag_terms

WEB = Node(
    id="i-0a1b2c3d4e5f60001",
    region="us-east-1",
    name="web-01",
    ping_status="Online",
    private_ip="10.0.1.15",
    iam_role="ProdWebInstanceRole",
    tags={"Name": "web-01", "project": "Production", "Role": "web"},
)
DB = Node(
    id="i-0a1b2c3d4e5f60002",
    region="eu-west-1",
    name="orders db",
    ping_status="ConnectionLost",
    private_ip="10.1.2.20",
    tags={"Name": "orders db", "project": "Staging", "Role": "db"},
)
ROUTER = Node(
    id="mi-0123456789abcdef0",
    region="us-east-1",
    name="core-router",
    ping_status="Online",
    resource_type=HYBRID,
    tags={"project": "Production", "site": "fra-1"},
)
ALL = [WEB, DB, ROUTER]


def ids(text: str) -> list[str]:
    return [n.id for n in parse_query(text).filter(ALL)]


def test_empty_query_keeps_everything() -> None:
    assert ids("") == [n.id for n in ALL]
    assert parse_query("   ").empty


def test_free_text_searches_name_id_and_ip_case_insensitively() -> None:
    assert ids("WEB") == [WEB.id]
    assert ids("10.1.2") == [DB.id]
    assert ids("mi-0123") == [ROUTER.id]


def test_several_words_are_anded() -> None:
    assert ids("web 10.0.1") == [WEB.id]
    assert ids("web 10.1") == []


def test_tag_terms_match_key_and_value_case_insensitively() -> None:
    assert ids("project=production") == [WEB.id, ROUTER.id]
    assert ids("PROJECT=Production role=web") == [WEB.id]


def test_tag_wildcards_and_any_value() -> None:
    assert ids("site=*") == [ROUTER.id]
    assert ids("project=Prod*") == [WEB.id, ROUTER.id]


def test_missing_tag_never_matches() -> None:
    assert ids("site=fra-1 Role=web") == []


def test_iam_and_ping_terms() -> None:
    assert ids("iam:prodweb") == [WEB.id]
    assert ids("ping:online") == [WEB.id, ROUTER.id]
    assert ids("ping:connectionlost") == [DB.id]


def test_region_and_type_terms() -> None:
    assert ids("region:eu") == [DB.id]
    assert ids("type:hybrid") == [ROUTER.id]
    assert ids("type:ec2 project=Production") == [WEB.id]


def test_quotes_group_words_and_unbalanced_quotes_do_not_crash() -> None:
    assert ids('"orders db"') == [DB.id]
    assert ids('Name="orders db"') == [DB.id]
    assert ids('"orders') == [DB.id]


def test_extra_tags_are_anded_with_the_text() -> None:
    q = parse_query("web", ["project=Production"])
    assert q.filter(ALL) == [WEB]


def test_tag_terms_validation() -> None:
    assert tag_terms(["a=b"]) == ["a=b"]
    with pytest.raises(UsageError):
        tag_terms(["novalue"])
