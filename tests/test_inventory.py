"""Inventory against the sandbox: paging, EC2 enrichment, hybrid tags, regions, failures."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.inventory import list_fleet, raise_if_failed
from sessiontui.aws.metering import CallMeter
from sessiontui.core.errors import AuthError
from sessiontui.core.node import HYBRID


@pytest.fixture
def factory(sandbox_env: dict[str, str]) -> ClientFactory:
    return ClientFactory()


@pytest.fixture
def fleet(factory: ClientFactory, sandbox: Any) -> Any:
    return list_fleet(factory, sandbox.regions)


def _ssm_truth(sandbox: Any, region: str) -> list[dict[str, Any]]:
    ssm = boto3.client("ssm", region_name=region, endpoint_url=sandbox.endpoint_url)
    out: list[dict[str, Any]] = []
    for page in ssm.get_paginator("describe_instance_information").paginate(
        PaginationConfig={"PageSize": 50}
    ):
        out += page["InstanceInformationList"]
    return out


def test_lists_every_managed_node_in_both_regions(fleet: Any, sandbox: Any) -> None:
    assert fleet.complete, fleet.errors
    truth = {i["InstanceId"] for r in sandbox.regions for i in _ssm_truth(sandbox, r)}
    listed = {n.id for n in fleet.nodes if n.managed}
    assert listed == truth
    assert len(truth) >= 60
    assert {n.region for n in fleet.nodes} == set(sandbox.regions)


def test_ec2_nodes_carry_name_tags_state_and_ip(fleet: Any, sandbox: Any) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=sandbox.endpoint_url)
    inst = ec2.describe_instances()["Reservations"][0]["Instances"][0]
    node = next(n for n in fleet.nodes if n.id == inst["InstanceId"])
    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
    assert dict(node.tags) == tags
    assert node.name == tags.get("Name", "")
    assert node.state == inst["State"]["Name"]
    assert node.private_ip == inst.get("PrivateIpAddress", "")


def test_hybrid_nodes_get_their_tags_from_ssm(fleet: Any, sandbox: Any) -> None:
    hybrids = [n for n in fleet.nodes if n.is_hybrid]
    assert hybrids, "the sandbox seeds hybrid nodes"
    ssm = boto3.client("ssm", region_name=hybrids[0].region, endpoint_url=sandbox.endpoint_url)
    for node in hybrids:
        assert node.resource_type == HYBRID
        assert node.id.startswith("mi-")
        if node.region == hybrids[0].region:
            tags = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node.id)[
                "TagList"
            ]
            assert dict(node.tags) == {t["Key"]: t["Value"] for t in tags}
    assert any(n.tags for n in hybrids)


def test_unconnectable_nodes_say_why(fleet: Any) -> None:
    by_why = [n.why for n in fleet.nodes if not n.connectable]
    assert any("ConnectionLost" in w for w in by_why)
    assert any("stopped" in w for w in by_why)
    assert any("no agent" in w for w in by_why), (
        "the EC2 box without an agent is listed, not connectable"
    )
    assert sum(n.connectable for n in fleet.nodes) > 50


def test_odd_names_survive(fleet: Any) -> None:
    names = [n.name for n in fleet.nodes]
    assert any(not n.isascii() for n in names), "unicode names are kept as they are"
    assert any(" " in n for n in names)
    assert any(n.name == "" for n in fleet.nodes if not n.is_hybrid), "a node with no Name tag"


def test_api_calls_stay_at_the_floor(factory: ClientFactory, sandbox: Any) -> None:
    meter = CallMeter()
    result = list_fleet(factory, sandbox.regions, meter=meter)
    per_region = {r: [n for n in result.nodes if n.region == r] for r in sandbox.regions}
    # DescribeInstanceProperties: 1,000 nodes a page, where DescribeInstanceInformation had 50
    dip = sum(max(1, math.ceil(sum(n.managed for n in ns) / 1000)) for ns in per_region.values())
    di = sum(
        max(1, math.ceil(sum(not n.is_hybrid for n in ns) / 1000)) for ns in per_region.values()
    )
    # the Tagging API brings 100 hybrid nodes' tags a call, in regions that have hybrid nodes
    tagged = sum(
        max(1, math.ceil(sum(bool(n.tags) for n in ns if n.is_hybrid) / 100))
        for ns in per_region.values()
        if any(n.is_hybrid for n in ns)
    )
    assert meter.calls["DescribeInstanceProperties"] == dip
    assert meter.calls["DescribeInstanceInformation"] == 0
    assert meter.calls["DescribeInstances"] == di
    assert meter.calls["GetResources"] == tagged
    assert meter.calls["ListTagsForResource"] == 0


def test_without_tag_get_resources_each_hybrid_nodes_tags_come_from_ssm(
    factory: ClientFactory, sandbox: Any
) -> None:
    """An identity whose policies do not allow tag:GetResources still lists every hybrid node's
    tags, one ListTagsForResource per node, as before the Tagging API was used."""
    with_tagging_api = {n.id: n.tags for n in list_fleet(factory, sandbox.regions).nodes}
    sandbox.faults.denied_actions = {"tagging:GetResources"}
    meter = CallMeter()
    try:
        result = list_fleet(factory, sandbox.regions, meter=meter)
    finally:
        sandbox.faults.denied_actions = set()
    assert result.complete, result.errors
    hybrids = [n for n in result.nodes if n.is_hybrid]
    assert meter.calls["GetResources"] == len({n.region for n in hybrids})  # denied once a region
    assert meter.calls["ListTagsForResource"] == len(hybrids)
    assert {n.id: n.tags for n in result.nodes} == with_tagging_api
    assert any(n.tags for n in hybrids)


def test_rows_stream_as_pages_arrive_and_upserts_converge(
    factory: ClientFactory, sandbox: Any
) -> None:
    seen: dict[str, Any] = {}
    batches: list[int] = []

    def on_nodes(region: str, nodes: list[Any]) -> None:
        batches.append(len(nodes))
        for n in nodes:
            seen[n.id] = n

    result = list_fleet(factory, sandbox.regions, on_nodes=on_nodes)
    assert len(batches) > 2
    assert {n.id: n for n in result.nodes} == seen


class _Ec2AfterSecondPage(ClientFactory):
    """The EC2 side starts once the second SSM page is being sent: the page was built before the
    region's EC2 answer, and the merge is ready while that page is still on its way out."""

    def __init__(self, second_page: threading.Event) -> None:
        super().__init__()
        self.second_page = second_page

    def client(self, service: str, region: str | None = None) -> Any:
        if service == "ec2":
            self.second_page.wait(10)
        return super().client(service, region)


def test_a_page_built_before_the_ec2_merge_is_never_sent_after_it(sandbox_env: Any) -> None:
    """The TUI keeps the last version of a node it is sent. An SSM page built before the EC2
    answer but sent after the merge left its nodes without name and state (seen in CI)."""
    second_page, merged = threading.Event(), threading.Event()
    last: dict[str, Any] = {}

    def on_nodes(region: str, nodes: list[Any]) -> None:
        if any(n.state for n in nodes):
            merged.set()
        elif last and not second_page.is_set():
            second_page.set()
            # the merge may not overtake this page: with the page sent under the region's
            # lock it waits, and this times out
            merged.wait(2)
        for n in nodes:
            last[n.id] = n

    factory = _Ec2AfterSecondPage(second_page)
    result = list_fleet(factory, ["us-east-1"], on_nodes=on_nodes, first_page=5)
    assert second_page.is_set() and merged.is_set() and result.errors == []
    assert {n.id: n for n in result.nodes} == last
    assert all(n.state for n in result.nodes if not n.is_hybrid)


class _OneRegionDown(ClientFactory):
    """eu-west-1 answers from a port where nothing listens, as an unreachable region does."""

    def client(self, service: str, region: str | None = None) -> Any:
        if region == "eu-west-1":
            return self.session.client(
                service, region_name=region, endpoint_url="http://127.0.0.1:9", config=_fast_fail()
            )
        return super().client(service, region)


def _fast_fail() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1)


def test_a_failing_region_is_reported_and_the_others_kept(
    sandbox_env: dict[str, str], sandbox: Any
) -> None:
    errors: list[tuple[str, str]] = []
    result = list_fleet(
        _OneRegionDown(), sandbox.regions, on_error=lambda r, m: errors.append((r, m))
    )
    assert [e.region for e in result.errors] == ["eu-west-1"]
    assert errors and errors[0][0] == "eu-west-1" and "127.0.0.1:9" in errors[0][1]
    assert result.nodes and {n.region for n in result.nodes} == {"us-east-1"}
    raise_if_failed(result)  # not every region failed: no exception


def test_throttling_slows_the_listing_but_never_breaks_it(
    factory: ClientFactory, sandbox: Any
) -> None:
    sandbox.faults.throttle_rate = 0.3
    try:
        result = list_fleet(factory, sandbox.regions)
    finally:
        sandbox.faults.throttle_rate = 0.0
    assert result.complete, result.errors
    assert len([n for n in result.nodes if n.managed]) >= 60


def test_no_credentials_is_an_auth_error(
    monkeypatch: pytest.MonkeyPatch, sandbox_env: dict[str, str], tmp_path: Any
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    factory = ClientFactory()
    with pytest.raises(AuthError, match="no AWS credentials"):
        factory.require_credentials()
    result = list_fleet(factory, ["us-east-1"])
    with pytest.raises(AuthError):
        raise_if_failed(result)


@pytest.fixture
def sandbox_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = sandbox.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield env


def test_cancel_stops_every_region_at_its_next_page(factory: ClientFactory, sandbox: Any) -> None:
    import threading

    cancel = threading.Event()
    meter = CallMeter()

    def on_nodes(region: str, nodes: list[Any]) -> None:
        cancel.set()  # the operator quit after the first page arrived

    result = list_fleet(factory, sandbox.regions, on_nodes=on_nodes, meter=meter, cancel=cancel)
    assert result.cancelled
    assert not result.errors
    # at most one SSM page in flight per region when the cancel came, and no tag calls queued after
    assert meter.calls["DescribeInstanceProperties"] <= 2 * len(sandbox.regions)
    assert meter.calls["ListTagsForResource"] == 0
    assert meter.calls["GetResources"] <= len(sandbox.regions)


def test_where_describe_instance_properties_is_refused_the_older_call_lists_the_same_fleet(
    factory: ClientFactory, sandbox: Any
) -> None:
    """AWS's quickstart policies name only DescribeInstanceInformation: such an identity lists the
    same nodes through it, and is refused DescribeInstanceProperties once a region, not once a
    listing."""
    wanted = sorted(
        (n.id, n.name, n.ping_status, n.private_ip)
        for n in list_fleet(factory, sandbox.regions).nodes
    )
    sandbox.faults.denied_actions = {"ssm:DescribeInstanceProperties"}
    meter = CallMeter()  # one: a meter stays attached to the factory's clients
    results, calls = [], []
    try:
        for _ in range(2):
            before = Counter(meter.calls)
            results.append(list_fleet(factory, sandbox.regions, meter=meter))
            calls.append(Counter(meter.calls) - before)
    finally:
        sandbox.faults.denied_actions = set()
    for result in results:
        assert result.complete, result.errors
        assert sorted((n.id, n.name, n.ping_status, n.private_ip) for n in result.nodes) == wanted
    managed = sum(n.managed for n in results[0].nodes)
    assert calls[0]["DescribeInstanceProperties"] == len(sandbox.regions)
    assert calls[0]["DescribeInstanceInformation"] >= math.ceil(managed / 50)
    assert calls[1]["DescribeInstanceProperties"] == 0  # learnt
    assert calls[1]["DescribeInstanceInformation"] == calls[0]["DescribeInstanceInformation"]
