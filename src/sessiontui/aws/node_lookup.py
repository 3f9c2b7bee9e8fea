"""One node found by what the operator typed, without listing the fleet (issue 25).

`--connect`, `--ssh-proxy` and `--request-access` name one node. Listing every region's whole
fleet to find it took 11 s at 10,000 nodes; this asks for it instead, every region at once, one
DescribeInstanceProperties call each, filtered by `InstanceIds` for an instance id, by `tag:Name`
for a name and by `tag:K` for `K=V` (a hybrid node's tags live only in SSM). Its answer carries,
for an EC2 node, EC2's Name tag and instance state beside the ping (`InstanceState`), so a node
renamed or stopped since the inventory cache was written is seen as it is now; nothing here reads
that cache.

EC2's DescribeInstances is asked only where a role's scope needs the node's other tags
(`with_ec2`): by instance id, one call per region holding matches, and then EC2's word wins on
names, tags and state. Loading botocore's EC2 model alone costs more than the AWS CLI's whole
jump to a prompt (docs/performance.md), so a path without a scope never pays it. A hybrid match's
tags take one ListTagsForResource; refused, the node is marked as the listing marks it.

The caller matches exactly on what comes back (core.target). A target the filters cannot express
(a wildcard, several words) gets no lookup: `lookup_for` returns None, and the fleet is listed.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sessiontui.aws.call_slots import AWS_ERRORS
from sessiontui.aws.fleet_result import FleetResult, RegionError
from sessiontui.aws.hybrid_tags import DENIED, tag_dict
from sessiontui.aws.inventory import (
    LIVE_STATES,
    PROPERTIES_REFUSED,
    Ec2Info,
    describe_error,
    ec2_info,
    merge_ec2,
    node_from_ssm,
)
from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory

NODE_ID = re.compile(r"(i-[0-9a-f]{8,17}|mi-[0-9a-f]{8,17})")
WILDCARDS = "*?["
LINE_ENDS = "\n\r\x85\u2028\u2029"  # what the filter values' ^.{1,100000}$ refuses


@dataclass(frozen=True)
class Lookup:
    """What to ask for: SSM's filter key (`InstanceIds` or `tag:K`) and the one value."""

    key: str
    value: str

    @property
    def by_id(self) -> bool:
        return self.key == "InstanceIds"


def lookup_for(target: str) -> Lookup | None:
    """The lookup that finds `target` as core.target resolves it, or None to list instead."""
    t = target.strip()
    if not t or any(c in LINE_ENDS for c in t):
        return None  # AWS refuses a filter value with a line in it: the listing matches it
    if NODE_ID.fullmatch(t):
        return Lookup("InstanceIds", t)
    if "=" in t:
        key, _, value = t.partition("=")
        # the query language's K=V is a glob over one word: anything else is the listing's
        if not key or not value or any(c in t for c in WILDCARDS) or any(c.isspace() for c in t):
            return None
        return Lookup(f"tag:{key}", value)
    return Lookup("tag:Name", t)


def _ssm_items(ssm: Any, key: str, values: list[str]) -> list[dict[str, Any]]:
    """DescribeInstanceProperties filtered by `key`; an identity refused it (or an endpoint that
    does not know it) asks DescribeInstanceInformation, which takes the same keys."""
    try:
        pages = ssm.get_paginator("describe_instance_properties").paginate(
            FiltersWithOperator=[{"Key": key, "Values": values, "Operator": "Equal"}],
            PaginationConfig={"PageSize": 50},
        )
        return [item for page in pages for item in page.get("InstanceProperties", [])]
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) not in PROPERTIES_REFUSED:
            raise
    pages = ssm.get_paginator("describe_instance_information").paginate(
        Filters=[{"Key": key, "Values": values}], PaginationConfig={"PageSize": 50}
    )
    return [item for page in pages for item in page.get("InstanceInformationList", [])]


def _hybrid_tags(ssm: Any, node: Node, lookup: Lookup) -> Node:
    """The hybrid node's tags, for its role scope; what the filter proved stays when refused."""
    known = {} if lookup.by_id else {lookup.key[4:]: lookup.value}
    try:
        resp = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node.id)
        tags = tag_dict(resp.get("TagList"))
    except AWS_ERRORS as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        why = f"ssm:ListTagsForResource ({code}) is refused" if code in DENIED else "unreadable"
        return node.with_updates(tags=known, name=known.get("Name", node.name), tags_unreadable=why)
    return node.with_updates(tags=tags, name=tags.get("Name", node.name))


def lookup_region(factory: ClientFactory, region: str, lookup: Lookup) -> list[Node]:
    """The nodes of one region that the lookup's filter brings, as the listing shows them."""
    ssm = factory.client("ssm", region)
    nodes = []
    for item in _ssm_items(ssm, lookup.key, [lookup.value]):
        node = node_from_ssm(item, region)
        if node.is_hybrid:
            node = _hybrid_tags(ssm, node, lookup)
        else:
            # the filter proved this one tag; the rest are EC2's, read only where a scope needs
            # them (with_ec2)
            known = {} if lookup.by_id else {lookup.key[4:]: lookup.value}
            node = node.with_updates(state=str(item.get("InstanceState") or ""), tags=known)
        nodes.append(node)
    return nodes


def with_ec2(factory: ClientFactory, nodes: list[Node]) -> list[Node]:
    """EC2's word on the EC2 nodes among `nodes` (tags, Name, state): one DescribeInstances by
    instance id per region, regions at once; a node EC2 no longer counts among the live goes."""
    by_region: dict[str, list[Node]] = {}
    for node in nodes:
        if not node.is_hybrid:
            by_region.setdefault(node.region, []).append(node)
    if not by_region:
        return nodes

    def described(region: str) -> dict[str, Ec2Info]:
        ec2 = factory.client("ec2", region)
        ids = [n.id for n in by_region[region]]
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "instance-id", "Values": ids},
                {"Name": "instance-state-name", "Values": LIVE_STATES},
            ]
        )
        return {
            inst["InstanceId"]: ec2_info(inst)
            for page in pages
            for reservation in page.get("Reservations", [])
            for inst in reservation.get("Instances", [])
        }

    with ThreadPoolExecutor(max_workers=len(by_region), thread_name_prefix="ec2") as pool:
        found: dict[str, Ec2Info] = {}
        for answer in pool.map(described, list(by_region)):
            found.update(answer)
    return [
        n if n.is_hybrid else merge_ec2(n, found[n.id])
        for n in nodes
        if n.is_hybrid or n.id in found
    ]


def lookup_fleet(factory: ClientFactory, regions: list[str], lookup: Lookup) -> FleetResult:
    """Every region at once; a failing region is reported, as `list_fleet` reports it."""
    start = time.perf_counter()
    result = FleetResult()
    lock = threading.Lock()

    def one(region: str) -> None:
        try:
            found = lookup_region(factory, region, lookup)
        except Exception as exc:
            text, auth = describe_error(exc)
            with lock:
                result.errors.append(RegionError(region, text, auth))
            return
        with lock:
            result.nodes.extend(found)

    with ThreadPoolExecutor(max_workers=max(1, len(regions)), thread_name_prefix="lookup") as pool:
        list(pool.map(one, regions))
    result.errors.sort(key=lambda e: e.region)
    result.seconds = time.perf_counter() - start
    return result
