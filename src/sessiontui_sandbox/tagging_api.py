"""The Resource Groups Tagging API's GetResources, for what moto's tagging backend cannot see: the
sandbox's own SSM managed instances (hybrid nodes, tagged through SSM's AddTagsToResource).

AWS returns every resource type from GetResources; here a request filtered to
`ssm:managed-instance` alone is answered from the sandbox's nodes, and any other request goes on to
moto. JSON 1.1 (`X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources`), as botocore sends
it. Paging as AWS pages: ResourcesPerPage from 1 to 100, PaginationToken "" on the last page, a
token that belongs to another query refused. A resource is listed while it has tags (AWS also lists
one that had tags once; the sandbox does not remember that).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sessiontui_sandbox.ssm_protocol import page_offset, page_token
from sessiontui_sandbox.state import AwsError, Caller, SandboxState

SERVICE = "tagging"
MANAGED_INSTANCE = "ssm:managed-instance"
MAX_PER_PAGE = 100
MAX_ARNS = 100


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, message_key="Message")


def _arn(region: str, account: str, node_id: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:managed-instance/{node_id}"


def _matches(tags: dict[str, str], filters: list[tuple[str, list[str]]]) -> bool:
    return all(key in tags and (not values or tags[key] in values) for key, values in filters)


def _tag_filters(params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    raw = params.get("TagFilters") or []
    if not isinstance(raw, list) or len(raw) > 50:
        raise _invalid("TagFilters can have at most 50 keys.")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise _invalid("Each TagFilter must have a Key.")
        values = item.get("Values") or []
        if not isinstance(values, list) or len(values) > 20:
            raise _invalid("A TagFilter can have at most 20 values.")
        out.append((item["Key"], [str(v) for v in values]))
    return out


def get_resources(state: SandboxState, region: str, caller: Caller, params: dict[str, Any]) -> Any:
    """The answer, or None when the request is not about managed instances alone (moto's)."""
    arns = params.get("ResourceARNList")
    types = params.get("ResourceTypeFilters")
    if arns is not None:
        if types is not None or params.get("TagFilters") is not None:
            raise _invalid(
                "ResourceARNList cannot be combined with ResourceTypeFilters or TagFilters"
            )
        if any(k in params for k in ("ResourcesPerPage", "TagsPerPage", "PaginationToken")):
            raise _invalid("ResourceARNList cannot be combined with pagination parameters.")
        if not isinstance(arns, list) or not 1 <= len(arns) <= MAX_ARNS:
            raise _invalid(f"ResourceARNList must have between 1 and {MAX_ARNS} ARNs.")
        prefix = _arn(region, caller.account, "")
        if not all(isinstance(a, str) and a.startswith(prefix) for a in arns):
            return None  # other resources: moto's
        wanted = {a[len(prefix) :] for a in arns}
        found = _mappings(state, region, caller, [], wanted)
        return {"ResourceTagMappingList": found, "PaginationToken": ""}
    if types != [MANAGED_INSTANCE]:
        return None
    per_page = params.get("ResourcesPerPage", MAX_PER_PAGE)
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise _invalid(f"ResourcesPerPage must be between 1 and {MAX_PER_PAGE}.")
    filters = _tag_filters(params)
    query = [region, caller.account, filters]
    digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
    token = params.get("PaginationToken")
    try:
        offset = page_offset(state, token, digest) if token else 0
    except AwsError:
        raise _invalid("The PaginationToken is not valid for this request.") from None
    found = _mappings(state, region, caller, filters, None)
    page = found[offset : offset + per_page]
    more = offset + per_page < len(found)
    return {
        "ResourceTagMappingList": page,
        "PaginationToken": page_token(state, offset + per_page, digest) if more else "",
    }


def _mappings(
    state: SandboxState,
    region: str,
    caller: Caller,
    filters: list[tuple[str, list[str]]],
    wanted: set[str] | None,
) -> list[dict[str, Any]]:
    with state.lock:
        nodes = sorted(state.nodes.get(region, {}).values(), key=lambda n: n.instance_id)
        return [
            {
                "ResourceARN": _arn(region, n.account, n.instance_id),
                "Tags": [{"Key": k, "Value": v} for k, v in n.tags.items()],
            }
            for n in nodes
            if n.is_hybrid
            and n.account == caller.account
            and n.tags
            and (wanted is None or n.instance_id in wanted)
            and _matches(n.tags, filters)
        ]


HANDLERS = {"GetResources": get_resources}
