"""One node found by what the operator typed, without listing the fleet (issue 25).

`--connect`, `--ssh-proxy` and `--request-access` name one node. Listing every region's whole
fleet to find it took 11 s at 10,000 nodes; this asks for it instead, every region at once, two
calls side by side in each:

- an instance id: DescribeInstances filtered by `instance-id` (`i-` ids only) and
  DescribeInstanceProperties filtered by `InstanceIds`;
- a Name: DescribeInstances filtered by `tag:Name` and DescribeInstanceProperties by `tag:Name`
  (a hybrid node's tags live only in SSM); `K=V`: the same with `tag:K`.

EC2 is the word on an EC2 node's name, tags and state (SSM's tag index may lag a rename); SSM
says whether a node is managed and its ping. An EC2 match that SSM's tag filter did not bring is
asked about by id, one call. A hybrid match's other tags (its role scope is checked against them)
take one ListTagsForResource; refused, the node is marked as the listing marks it. Every node
comes from AWS's answer of this moment: nothing here reads the inventory cache.

EC2's filter values take `*` and `?` as wildcards, so an answer may hold more than the target
names: the caller matches exactly on what comes back (core.target). A target the filters cannot
express (a wildcard, several words) gets no lookup: `lookup_for` returns None.
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
from sessiontui.aws.hybrid_tags import DENIED, tag_dict
from sessiontui.aws.inventory import (
    LIVE_STATES,
    PROPERTIES_REFUSED,
    Ec2Info,
    FleetResult,
    RegionError,
    describe_error,
    ec2_info,
    merge_ec2,
    node_from_ssm,
    unmanaged_node,
)
from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory

NODE_ID = re.compile(r"(i-[0-9a-f]{8,17}|mi-[0-9a-f]{8,17})")
IDS_PER_CALL = 40  # DescribeInstanceProperties' InstanceIds filter takes at most 40 values
WILDCARDS = "*?["


@dataclass(frozen=True)
class Lookup:
    """What to ask for: SSM's filter key (`InstanceIds` or `tag:K`) and the one value."""

    key: str
    value: str

    @property
    def by_id(self) -> bool:
        return self.key == "InstanceIds"

    @property
    def ec2_filter(self) -> dict[str, Any] | None:
        if self.by_id:
            if not self.value.startswith("i-"):
                return None  # a hybrid node: EC2 has never heard of it
            return {"Name": "instance-id", "Values": [self.value]}
        return {"Name": self.key, "Values": [self.value]}


def lookup_for(target: str) -> Lookup | None:
    """The lookup that finds `target` as core.target resolves it, or None to list instead."""
    t = target.strip()
    if not t:
        return None
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


def _ec2_matches(ec2: Any, flt: dict[str, Any]) -> dict[str, Ec2Info]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[flt, {"Name": "instance-state-name", "Values": LIVE_STATES}],
        PaginationConfig={"PageSize": 1000},
    )
    return {
        inst["InstanceId"]: ec2_info(inst)
        for page in pages
        for reservation in page.get("Reservations", [])
        for inst in reservation.get("Instances", [])
    }


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
    """The nodes of one region that the lookup's filters bring, as the listing would show them."""
    ssm = factory.client("ssm", region)
    flt = lookup.ec2_filter
    ec2 = factory.client("ec2", region) if flt is not None else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ec2-{region}") as pool:
        ec2_future = pool.submit(_ec2_matches, ec2, flt) if ec2 is not None and flt else None
        items = _ssm_items(ssm, lookup.key, [lookup.value])
        ec2_found = ec2_future.result() if ec2_future is not None else {}
    nodes: dict[str, Node] = {}
    for item in items:
        node = node_from_ssm(item, region)
        if node.is_hybrid:
            nodes[node.id] = node
        elif node.id in ec2_found:
            nodes[node.id] = merge_ec2(node, ec2_found[node.id])
        # else terminated, or EC2 no longer carries the tag SSM's index still has: EC2's word wins
    unasked = [i for i in ec2_found if i not in nodes]
    for start in range(0, len(unasked), IDS_PER_CALL):
        chunk = unasked[start : start + IDS_PER_CALL]
        for item in _ssm_items(ssm, "InstanceIds", chunk):
            node = node_from_ssm(item, region)
            nodes[node.id] = merge_ec2(node, ec2_found.get(node.id))
    for iid in unasked:
        if iid not in nodes:
            nodes[iid] = unmanaged_node(iid, region, ec2_found[iid])
    return [_hybrid_tags(ssm, n, lookup) if n.is_hybrid else n for n in nodes.values()]


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
