"""The sandbox's Tagging API GetResources for SSM managed instances, as AWS answers it: the tags
SSM's own tag calls set, 100 resources a page at most, tokens tied to their query, one account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox

TYPE = ["ssm:managed-instance"]


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


def _hybrids(sandbox: Sandbox, region: str = "us-east-1") -> list[str]:
    ssm = client(sandbox, "ssm", region)
    pages = ssm.get_paginator("describe_instance_information").paginate(
        Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}]
    )
    return [i["InstanceId"] for p in pages for i in p["InstanceInformationList"]]


def _ssm_tags(sandbox: Sandbox, node_id: str, region: str = "us-east-1") -> dict[str, str]:
    ssm = client(sandbox, "ssm", region)
    tags = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node_id)
    return {t["Key"]: t["Value"] for t in tags["TagList"]}


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_every_tagged_managed_instance_with_the_tags_ssm_has(sandbox: Sandbox) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    pages = tagging.get_paginator("get_resources").paginate(ResourceTypeFilters=TYPE)
    found = {
        m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]}
        for p in pages
        for m in p["ResourceTagMappingList"]
    }
    account = client(sandbox, "sts").get_caller_identity()["Account"]
    expected = {
        f"arn:aws:ssm:us-east-1:{account}:managed-instance/{i}": _ssm_tags(sandbox, i)
        for i in _hybrids(sandbox)
    }
    assert found == {arn: tags for arn, tags in expected.items() if tags}
    assert found, "the sandbox seeds tagged hybrid nodes"


def test_tags_added_through_ssm_show_and_tag_filters_select(sandbox: Sandbox) -> None:
    node = _hybrids(sandbox)[0]
    # tags are an administrator's to set: the demo user may only look
    ssm = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    ssm.add_tags_to_resource(
        ResourceType="ManagedInstance", ResourceId=node, Tags=[{"Key": "team", "Value": "neteng"}]
    )
    try:
        tagging = client(sandbox, "resourcegroupstaggingapi")
        page = tagging.get_resources(
            ResourceTypeFilters=TYPE, TagFilters=[{"Key": "team", "Values": ["neteng"]}]
        )
        arns = [m["ResourceARN"] for m in page["ResourceTagMappingList"]]
        assert [a.rpartition("/")[2] for a in arns] == [node]
        assert page["PaginationToken"] == ""
        by_arn = tagging.get_resources(ResourceARNList=arns)["ResourceTagMappingList"]
        assert {"Key": "team", "Value": "neteng"} in by_arn[0]["Tags"]
    finally:
        ssm.remove_tags_from_resource(
            ResourceType="ManagedInstance", ResourceId=node, TagKeys=["team"]
        )


def test_pages_hold_at_most_resources_per_page_and_the_last_token_is_empty(
    sandbox: Sandbox,
) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    first = tagging.get_resources(ResourceTypeFilters=TYPE, ResourcesPerPage=1)
    assert len(first["ResourceTagMappingList"]) == 1
    assert first["PaginationToken"]
    pages = list(
        tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=TYPE, PaginationConfig={"PageSize": 2}
        )
    )
    assert all(len(p["ResourceTagMappingList"]) <= 2 for p in pages)
    assert pages[-1]["PaginationToken"] == ""
    for bad in (0, 101):
        with pytest.raises(ClientError) as exc:
            tagging.get_resources(ResourceTypeFilters=TYPE, ResourcesPerPage=bad)
        assert _code(exc) == ("InvalidParameterException", 400)


def test_a_token_from_another_query_is_refused(sandbox: Sandbox) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    token = tagging.get_resources(ResourceTypeFilters=TYPE, ResourcesPerPage=1)["PaginationToken"]
    with pytest.raises(ClientError) as exc:
        tagging.get_resources(
            ResourceTypeFilters=TYPE,
            TagFilters=[{"Key": "Name"}],
            PaginationToken=token,
        )
    assert _code(exc) == ("InvalidParameterException", 400)


def test_arn_list_with_paging_parameters_is_refused(sandbox: Sandbox) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    arn = "arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-0123456789abcdef0"
    with pytest.raises(ClientError) as exc:
        tagging.get_resources(ResourceARNList=[arn], ResourcesPerPage=5)
    assert _code(exc) == ("InvalidParameterException", 400)


def test_a_policy_without_tag_get_resources_is_access_denied(sandbox: Sandbox) -> None:
    sandbox.faults.denied_actions = {"tagging:GetResources"}
    tagging = client(sandbox, "resourcegroupstaggingapi")
    with pytest.raises(ClientError) as exc:
        tagging.get_resources(ResourceTypeFilters=TYPE)
    assert _code(exc) == ("AccessDeniedException", 400)
    assert "tag:GetResources" in str(exc.value)
