"""SSM's view of the fleet, as moto 5.2 lacks it: DescribeInstanceInformation, the newer
DescribeInstanceProperties (the console's call, 1,000 nodes a page) and the tags of hybrid nodes,
over moto's EC2 instances and the sandbox's own managed nodes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, timedelta
from typing import Any

from sessiontui_sandbox.demo import DEMO_ACCOUNT
from sessiontui_sandbox.ssm_protocol import (
    SsmRequest,
    epoch,
    max_results,
    modeled,
    page_offset,
    page_token,
    validation,
)
from sessiontui_sandbox.state import MANAGED_INSTANCE, ManagedNode, SandboxState

DEFAULT_PAGE = 10  # small on purpose: a client that forgets to page is caught at once
LEGACY_FILTER_KEYS = [
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
]
# the Filters list takes the legacy keys, tag-key and tag:K (checked apart)
NEW_FILTER_KEYS = {*LEGACY_FILTER_KEYS, "tag-key"}
# DescribeInstanceProperties: the same keys, plus the operators of FiltersWithOperator
PROPERTY_FILTER_KEYS = [*LEGACY_FILTER_KEYS[:4], "DocumentName", *LEGACY_FILTER_KEYS[4:]]
OPERATORS = {
    "Equal": lambda have, values: have in values,
    "NotEqual": lambda have, values: have not in values,
    "BeginWith": lambda have, values: any(have.startswith(v) for v in values),
}
ALLOWED_VALUES = {
    "PingStatus": {"Online", "ConnectionLost", "Inactive"},
    "PlatformTypes": {"Windows", "Linux", "MacOS"},
    "ResourceType": {"EC2Instance", "ManagedInstance"},
}


# -- moto's EC2 view of a node --------------------------------------------------------------------


def ec2_backend(region: str, account: str = DEMO_ACCOUNT) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def ec2_instance(region: str, instance_id: str) -> Any:
    """The moto instance, or None; O(n) in moto, so only for rare lookups."""
    if not instance_id.startswith("i-"):
        return None
    try:
        return ec2_backend(region).get_instance(instance_id)
    except Exception:  # moto raises its own InvalidInstanceID error
        return None


def node_tags(
    region: str, node: ManagedNode | None, instance_id: str, account: str = DEMO_ACCOUNT
) -> dict[str, str]:
    if node is not None and node.is_hybrid:
        return node.tags
    backend = ec2_backend(region, node.account if node is not None else account)
    return dict(backend.tags.get(instance_id, {}))


def ec2_state(node: ManagedNode) -> str:
    if node.ec2 is None:
        return ""
    return str(node.ec2._state.name)


def node_name(region: str, node: ManagedNode | None, instance_id: str) -> str:
    tags = node_tags(region, node, instance_id)
    if tags.get("Name"):
        return tags["Name"]
    if node is not None:
        return node.name or node.computer_name or instance_id
    return instance_id


# -- DescribeInstanceInformation ------------------------------------------------------------------


def instance_information(state: SandboxState, node: ManagedNode) -> dict[str, Any]:
    now = state.now()
    ping = now - timedelta(seconds=node.ping_age)
    out: dict[str, Any] = {
        "InstanceId": node.instance_id,
        "PingStatus": node.ping_status,
        "LastPingDateTime": epoch(ping),
        "AgentVersion": node.agent_version,
        "IsLatestVersion": node.is_latest_version,
        "PlatformType": node.platform_type,
        "PlatformName": node.platform_name,
        "PlatformVersion": node.platform_version,
        "ResourceType": node.resource_type,
        "IPAddress": node.ip_address,
        "ComputerName": node.computer_name,
        "IamRole": node.iam_role,
        "AssociationStatus": node.association_status,
        "SourceId": node.instance_id,
        "SourceType": "AWS::SSM::ManagedInstance" if node.is_hybrid else "AWS::EC2::Instance",
    }
    if node.association_status:
        out["LastAssociationExecutionDate"] = epoch(ping - timedelta(minutes=30))
        out["LastSuccessfulAssociationExecutionDate"] = epoch(ping - timedelta(minutes=30))
    if node.is_hybrid:
        out["Name"] = node.name
        out["ActivationId"] = node.activation_id
        out["RegistrationDate"] = epoch(now - timedelta(seconds=node.registration_age))
    return out


# DescribeInstanceProperties' values: at most 40 a filter, each matching ^.{1,100000}$, where
# (Java's) `.` is no line terminator; DescribeInstanceInformation's: 100, any text
PROPERTY_VALUES_MAX = 40
LINE_ENDS = "\n\r\u0085\u2028\u2029"


def _check_values(key: str, values: Any, path: str, most: int = 100) -> list[str]:
    if not isinstance(values, list) or not values or len(values) > most:
        raise validation(path, values, f"Member must have length between 1 and {most}")
    if most == PROPERTY_VALUES_MAX:
        for v in values:
            if not isinstance(v, str) or not v or any(c in LINE_ENDS for c in v):
                raise validation(
                    path, values, "Member must satisfy regular expression pattern: ^.{1,100000}$"
                )
    allowed = ALLOWED_VALUES.get(key)
    if allowed:
        for v in values:
            if v not in allowed:
                raise modeled(
                    "InvalidInstanceInformationFilterValue",
                    f"{v} is not a valid value for filter {key}.",
                )
    return [str(v) for v in values]


def _parse_filters(params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for i, item in enumerate(params.get("InstanceInformationFilterList") or [], 1):
        key = item.get("key", "")
        if key not in LEGACY_FILTER_KEYS:
            raise validation(
                f"instanceInformationFilterList.{i}.member.key",
                key,
                "Member must satisfy enum value set: [" + ", ".join(LEGACY_FILTER_KEYS) + "]",
            )
        path = f"instanceInformationFilterList.{i}.member.valueSet"
        out.append((key, _check_values(key, item.get("valueSet"), path)))
    for i, item in enumerate(params.get("Filters") or [], 1):
        key = str(item.get("Key", ""))
        if key not in NEW_FILTER_KEYS and not (key.startswith("tag:") and len(key) > 4):
            raise modeled("InvalidFilterKey", f"The filter key {key} is not valid.")
        out.append((key, _check_values(key, item.get("Values"), f"filters.{i}.member.values")))
    return out


def _matches(
    state: SandboxState, region: str, node: ManagedNode, key: str, values: list[str]
) -> bool:
    if key.startswith("tag:") or key == "tag-key":
        tags = node_tags(region, node, node.instance_id)
        if key == "tag-key":
            return any(v in tags for v in values)
        return tags.get(key[4:]) in values
    return _node_value(region, node, key) in values


def instance_properties(state: SandboxState, node: ManagedNode) -> dict[str, Any]:
    """One node as DescribeInstanceProperties answers: DescribeInstanceInformation's fields, and
    for an EC2 node its Name tag, type, state and launch time."""
    out = instance_information(state, node)
    out["IamRole"] = node.iam_role
    instance = node.ec2
    if instance is not None:
        tags = node_tags(node.region, node, node.instance_id)
        if "Name" in tags:
            out["Name"] = tags["Name"]
        out["InstanceType"] = instance.instance_type
        out["InstanceState"] = ec2_state(node)
        launched = instance.launch_time
        if launched.tzinfo is None:  # moto keeps naive UTC
            launched = launched.replace(tzinfo=UTC)
        out["LaunchTime"] = epoch(launched)
    return out


def _property_filters(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """(key, test) pairs; a test takes the node's value."""
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(params.get("InstancePropertyFilterList") or [], 1):
        key = item.get("key", "")
        if key not in PROPERTY_FILTER_KEYS:
            raise validation(
                f"instancePropertyFilterList.{i}.member.key",
                key,
                "Member must satisfy enum value set: [" + ", ".join(PROPERTY_FILTER_KEYS) + "]",
            )
        values = _check_values(
            key,
            item.get("valueSet"),
            f"instancePropertyFilterList.{i}.member.valueSet",
            PROPERTY_VALUES_MAX,
        )
        out.append((key, (OPERATORS["Equal"], values)))
    for i, item in enumerate(params.get("FiltersWithOperator") or [], 1):
        key = str(item.get("Key", ""))
        if key not in PROPERTY_FILTER_KEYS and not (key.startswith("tag:") and len(key) > 4):
            raise modeled("InvalidFilterKey", f"The filter key {key} is not valid.")
        operator = str(item.get("Operator") or "Equal")
        if operator not in OPERATORS:
            raise modeled("InvalidFilterOption", f"The filter option {operator} is not valid.")
        values = _check_values(
            key, item.get("Values"), f"filtersWithOperator.{i}.member.values", PROPERTY_VALUES_MAX
        )
        out.append((key, (OPERATORS[operator], values)))
    return out


def _node_value(region: str, node: ManagedNode, key: str) -> str | None:
    if key.startswith("tag:"):
        return node_tags(region, node, node.instance_id).get(key[4:])
    return {
        "InstanceIds": node.instance_id,
        "AgentVersion": node.agent_version,
        "PingStatus": node.ping_status,
        "PlatformTypes": node.platform_type,
        "ActivationIds": node.activation_id,
        "IamRole": node.iam_role,
        "ResourceType": node.resource_type,
        "AssociationStatus": node.association_status,
        "DocumentName": "",
    }[key]


_query_cache: dict[tuple[str, str], tuple[int, list[str]]] = {}


def _page(
    state: SandboxState,
    req: SsmRequest,
    query: list[Any],
    keep: Any,
    high: int,
) -> tuple[list[ManagedNode], str | None]:
    """One page of the account's nodes in the region that `keep` keeps; the ids a query keeps
    are computed once a fleet version, so paging 10,000 nodes stays linear."""
    params = req.params
    limit = max_results(params, 5, high, DEFAULT_PAGE)
    digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
    offset = page_offset(state, params["NextToken"], digest) if "NextToken" in params else 0
    with state.lock:
        cached = _query_cache.get((state.nonce, digest))
        if cached and cached[0] == state.version:
            ids = cached[1]
        else:
            nodes = list(state.nodes.get(req.region, {}).values())
            ids = [n.instance_id for n in nodes if n.account == req.account and keep(n)]
            if len(_query_cache) > 256:  # many distinct filters: start over rather than grow
                _query_cache.clear()
            _query_cache[(state.nonce, digest)] = (state.version, ids)
        region_nodes = state.nodes.get(req.region, {})
        page = [region_nodes[i] for i in ids[offset : offset + limit] if i in region_nodes]
    token = page_token(state, offset + limit, digest) if offset + limit < len(ids) else None
    return page, token


def describe_instance_information(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    filters = _parse_filters(req.params)
    query = ["information", req.region, filters, req.account]

    def keep(n: ManagedNode) -> bool:
        return all(_matches(state, req.region, n, k, v) for k, v in filters)

    page, token = _page(state, req, query, keep, 50)
    with state.lock:
        out: dict[str, Any] = {
            "InstanceInformationList": [instance_information(state, n) for n in page]
        }
    if token:
        out["NextToken"] = token
    return out


def describe_instance_properties(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    filters = _property_filters(req.params)
    shown = [
        req.params.get("InstancePropertyFilterList"),
        req.params.get("FiltersWithOperator"),
    ]
    query = ["properties", req.region, shown, req.account]

    def keep(n: ManagedNode) -> bool:
        return all(test(_node_value(req.region, n, k), values) for k, (test, values) in filters)

    page, token = _page(state, req, query, keep, 1000)
    with state.lock:
        out: dict[str, Any] = {"InstanceProperties": [instance_properties(state, n) for n in page]}
    if token:
        out["NextToken"] = token
    return out


# -- tags of hybrid nodes -------------------------------------------------------------------------


def _hybrid_node(state: SandboxState, req: SsmRequest) -> ManagedNode | None:
    """The node for a ManagedInstance tag call, None to let moto answer other resource types."""
    if req.params.get("ResourceType") != MANAGED_INSTANCE:
        return None
    rid = str(req.params.get("ResourceId", ""))
    node = state.find_node(req.region, rid, req.account)
    if node is None or not node.is_hybrid:
        raise modeled(
            "InvalidResourceId", "The resource ID is not valid. Verify the ID and try again."
        )
    return node


def list_tags_for_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    with state.lock:
        return {"TagList": [{"Key": k, "Value": v} for k, v in node.tags.items()]}


def add_tags_to_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    tags = req.params.get("Tags") or []
    with state.lock:
        if len({**node.tags, **{t["Key"]: t["Value"] for t in tags}}) > 1000:
            raise modeled("TooManyTagsError", "The Targets parameter includes too many tags.")
        for t in tags:
            node.tags[str(t["Key"])] = str(t["Value"])
        state.version += 1
    return {}


def remove_tags_from_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    with state.lock:
        for key in req.params.get("TagKeys") or []:
            node.tags.pop(str(key), None)
        state.version += 1
    return {}
