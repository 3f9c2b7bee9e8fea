"""Pure parts of databases behind the fleet, without AWS: the bastion ranking (a node the security
groups do not admit ranks below one they do), the preset that names an endpoint, the IAM token
renewed before its 15 minutes end, and the discovery cache (private, with its age, no secret)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import boto3
import pytest

from sessiontui.core.bastion import ADMITTED, IN_VPC, RECENT, TAGGED, NodeNetwork, rank_bastions
from sessiontui.core.databases import Database, DatabasePreset, Ingress
from sessiontui.core.node import Node
from sessiontui.operations.database_tunnel import Place, SignIn, chosen_for
from sessiontui.stores.database_cache import DatabaseCache

DB = Database(
    name="orders",
    kind="cluster",
    role="writer",
    engine="aurora-postgresql",
    host="orders.cluster-x.us-east-1.rds.amazonaws.com",
    port=5432,
    region="us-east-1",
    account_id="111111111111",
    vpc_id="vpc-1",
    security_groups=("sg-db",),
    iam_auth=True,
    master_user="app",
)
RULES = {"sg-db": [Ingress(5432, 5432, groups=("sg-app",))]}


def node(node_id: str, name: str, **kw: Any) -> Node:
    kw.setdefault("ping_status", "Online")
    kw.setdefault("state", "running")
    kw.setdefault("account_id", "111111111111")
    return Node(node_id, "us-east-1", name, **kw)


def test_the_node_the_groups_admit_ranks_first_and_one_they_do_not_admit_below() -> None:
    admitted = node("i-1", "zz-worker")
    tagged = node("i-2", "bastion", tags={"Role": "bastion"})
    recent = node("i-3", "recent")
    other = node("i-4", "aa-other")
    elsewhere = node("i-5", "other-vpc")
    refused = node("i-6", "not-mine")
    nets = {
        "i-1": NodeNetwork("vpc-1", ("sg-app",)),
        "i-2": NodeNetwork("vpc-1", ("sg-ops",)),
        "i-3": NodeNetwork("vpc-1", ("sg-ops",)),
        "i-4": NodeNetwork("vpc-1", ("sg-ops",)),
        "i-5": NodeNetwork("vpc-2", ("sg-app",)),
        "i-6": NodeNetwork("vpc-1", ("sg-app",)),
    }
    ranked = rank_bastions(
        DB,
        [other, elsewhere, recent, tagged, admitted, refused],
        nets,
        RULES,
        bastion_tag=("Role", "bastion"),
        recent=["i-3"],
        may_open=lambda n: n.id != "i-6",
    )
    assert [(c.node.id, c.tier) for c in ranked] == [
        ("i-1", ADMITTED),
        ("i-2", TAGGED),
        ("i-3", RECENT),
        ("i-4", IN_VPC),
    ]
    assert ranked[0].reason == "security group sg-db admits it on port 5432"
    assert "no rule is known to admit it" in ranked[3].reason


def test_a_rule_on_another_port_does_not_admit() -> None:
    rules = {"sg-db": [Ingress(3306, 3306, groups=("sg-app",))]}
    ranked = rank_bastions(
        DB, [node("i-1", "w")], {"i-1": NodeNetwork("vpc-1", ("sg-app",))}, rules
    )
    assert [c.tier for c in ranked] == [IN_VPC]


def test_a_preset_names_its_database_by_identifier_or_endpoint() -> None:
    by_id = DatabasePreset("orders", identifier="orders", user="reporting")
    by_host = DatabasePreset("ro", endpoint="orders.cluster-ro-x.us-east-1.rds.amazonaws.com")
    assert chosen_for(DB, [by_host, by_id]).name == "orders"
    assert chosen_for(DB, [by_host, by_id]).user == "reporting"
    assert chosen_for(DB, [by_host]).preset is None


class CountingRds:
    """botocore's own presigner, counted: generate_db_auth_token makes no call."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "rds",
            region_name="us-east-1",
            aws_access_key_id="AKIAEXAMPLE",
            aws_secret_access_key="secret",
        )
        self.made = 0

    def generate_db_auth_token(self, **kw: Any) -> str:
        self.made += 1
        return str(self.client.generate_db_auth_token(**kw))


def test_an_iam_token_is_for_the_real_endpoint_and_renewed_before_its_15_minutes_end() -> None:
    rds = CountingRds()
    now = [0.0]
    sign_in = SignIn(chosen_for(DB, []), Place(lambda _s, _r: rds, "us-east-1", ""), lambda: now[0])
    token = sign_in.password()
    assert token.startswith(f"{DB.host}:5432/?") and "DBUser=app" in token
    assert sign_in.env()["PGPASSWORD"] == token and sign_in.source == "rds iam token"
    now[0] = 590.0  # 10 minutes on: still more than 5 left
    sign_in.password()
    assert rds.made == 1
    now[0] = 610.0  # under 5 minutes left: a new one, so a new connection never gets a stale one
    sign_in.password()
    assert rds.made == 2


def test_the_discovery_cache_is_private_with_its_age_and_remembers_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = DatabaseCache(["default", "111111111111:ProdOps", "us-east-1", ""])
    assert cache.load() is None
    cache.save([DB])
    found = cache.load()
    assert found is not None and found[0] == [DB] and 0 <= found[1] < 5
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.path.parent).st_mode) == 0o700
    cache.remember_port(DB.key, 15432)
    assert DatabaseCache(["other"]).ports() == {DB.key: 15432}
    cache.path.write_text("{not json")
    assert cache.load() is None  # a damaged file costs the instant rows, nothing else
