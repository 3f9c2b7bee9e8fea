"""The sandbox's SSM answers as AWS does: paging, filters, hybrid tags, sessions, stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox_support import client
from sessiontui_sandbox import Sandbox


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def ssm(sandbox: Sandbox) -> Any:
    return client(sandbox, "ssm")


def all_nodes(ssm: Any, **kwargs: Any) -> list[dict[str, Any]]:
    pages = ssm.get_paginator("describe_instance_information").paginate(
        **kwargs, PaginationConfig={"PageSize": 50}
    )
    return [i for p in pages for i in p["InstanceInformationList"]]


def by_name(sb: Sandbox, name: str, region: str = "us-east-1") -> str:
    ec2 = client(sb, "ec2", region)
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return str(found["Reservations"][0]["Instances"][0]["InstanceId"])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


# -- DescribeInstanceInformation ------------------------------------------------------------------


def test_max_results_below_5_is_a_validation_error(sandbox: Sandbox) -> None:
    raw = client(sandbox, "ssm", parameter_validation=False)  # botocore would refuse 4 itself
    with pytest.raises(ClientError) as exc:
        raw.describe_instance_information(MaxResults=4)
    code, message, status = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "Member must have value greater than or equal to 5" in message


def test_max_results_above_50_is_a_validation_error(ssm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_information(MaxResults=51)
    code, message, _ = error_of(exc)
    assert code == "ValidationException"
    assert "Value '51' at 'maxResults'" in message
    assert "less than or equal to 50" in message


def test_default_page_is_small_and_next_token_walks_everything(ssm: Any) -> None:
    first = ssm.describe_instance_information()
    assert len(first["InstanceInformationList"]) == 10
    assert first["NextToken"]
    seen = [i["InstanceId"] for i in first["InstanceInformationList"]]
    token = first["NextToken"]
    while token:
        page = ssm.describe_instance_information(NextToken=token, MaxResults=5)
        assert len(page["InstanceInformationList"]) <= 5
        seen += [i["InstanceId"] for i in page["InstanceInformationList"]]
        token = page.get("NextToken")
    assert len(seen) == len(set(seen)) == len(all_nodes(ssm))


def test_fleet_spans_two_regions_with_sixty_nodes(sandbox: Sandbox) -> None:
    total = sum(len(all_nodes(client(sandbox, "ssm", r))) for r in sandbox.regions)
    ec2_only = client(sandbox, "ec2").describe_instances(
        Filters=[{"Name": "tag:Name", "Values": ["dev-noagent-01"]}]
    )
    assert total >= 60
    assert ec2_only["Reservations"], "an instance without an agent exists in EC2"


def test_bad_next_token_is_refused(ssm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_information(NextToken="not-a-token")
    assert error_of(exc)[0] == "InvalidNextToken"
    token = ssm.describe_instance_information()["NextToken"]
    with pytest.raises(ClientError) as exc:  # a token is tied to the query it came from
        ssm.describe_instance_information(
            NextToken=token, Filters=[{"Key": "PingStatus", "Values": ["Online"]}]
        )
    assert error_of(exc)[0] == "InvalidNextToken"


def test_tag_filters_use_ec2_tags_and_hybrid_ssm_tags(sandbox: Sandbox, ssm: Any) -> None:
    prod = all_nodes(ssm, Filters=[{"Key": "tag:project", "Values": ["Production"]}])
    assert any(n["InstanceId"].startswith("mi-") for n in prod)
    ec2 = client(sandbox, "ec2")
    for node in prod:
        if node["InstanceId"].startswith("i-"):
            tags = ec2.describe_tags(
                Filters=[{"Name": "resource-id", "Values": [node["InstanceId"]]}]
            )["Tags"]
        else:
            tags = ssm.list_tags_for_resource(
                ResourceType="ManagedInstance", ResourceId=node["InstanceId"]
            )["TagList"]
        assert {"Key": "project", "Value": "Production"} in [
            {"Key": t["Key"], "Value": t["Value"]} for t in tags
        ]
    with_site = all_nodes(ssm, Filters=[{"Key": "tag-key", "Values": ["site"]}])
    assert with_site and all(n["InstanceId"].startswith("mi-") for n in with_site)


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("PingStatus", "ConnectionLost", "PingStatus"),
        ("PlatformTypes", "Windows", "PlatformType"),
        ("ResourceType", "ManagedInstance", "ResourceType"),
        ("IamRole", "SSMServiceRole", "IamRole"),
        ("AgentVersion", "3.2.1241.0", "AgentVersion"),
    ],
)
def test_each_filter_narrows_to_matching_nodes(ssm: Any, key: str, value: str, field: str) -> None:
    everything = all_nodes(ssm)
    matched = all_nodes(ssm, Filters=[{"Key": key, "Values": [value]}])
    assert matched
    assert all(n[field] == value for n in matched)
    assert len(matched) == sum(1 for n in everything if n[field] == value)


def test_instance_ids_filter_and_legacy_filter_list(ssm: Any) -> None:
    ids = [n["InstanceId"] for n in all_nodes(ssm)][:3]
    new = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ids}])
    old = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": ids}]
    )
    assert sorted(i["InstanceId"] for i in new["InstanceInformationList"]) == sorted(ids)
    assert sorted(i["InstanceId"] for i in old["InstanceInformationList"]) == sorted(ids)


def test_unknown_filter_key_and_value_are_refused(ssm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_information(Filters=[{"Key": "Colour", "Values": ["blue"]}])
    assert error_of(exc)[0] == "InvalidFilterKey"
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_information(Filters=[{"Key": "PingStatus", "Values": ["Up"]}])
    assert error_of(exc)[0] == "InvalidInstanceInformationFilterValue"


# -- DescribeInstanceProperties -------------------------------------------------------------------


def test_instance_properties_page_up_to_1000_and_list_the_same_nodes(ssm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_properties(MaxResults=1001)
    code, message, status = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "Member must have value less than or equal to 1000" in message
    first = ssm.describe_instance_properties()
    assert len(first["InstanceProperties"]) == 10 and "NextToken" in first  # a small default
    pages = ssm.get_paginator("describe_instance_properties").paginate(
        PaginationConfig={"PageSize": 1000}
    )
    listed = [p["InstanceProperties"] for p in pages]
    assert len(listed) == 1  # the whole region in one call, where the older call takes 50 a page
    assert sorted(n["InstanceId"] for n in listed[0]) == sorted(
        n["InstanceId"] for n in all_nodes(ssm)
    )


def test_instance_properties_carry_ec2_names_and_states_and_filter_with_operators(
    sandbox: Sandbox, ssm: Any
) -> None:
    web = by_name(sandbox, "prod-web-01")
    (one,) = ssm.describe_instance_properties(
        InstancePropertyFilterList=[{"key": "InstanceIds", "valueSet": [web]}]
    )["InstanceProperties"]
    assert (one["Name"], one["InstanceState"], one["ResourceType"]) == (
        "prod-web-01",
        "running",
        "EC2Instance",
    )
    assert one["InstanceType"] and one["LaunchTime"] and one["PingStatus"] == "Online"
    pages = ssm.get_paginator("describe_instance_properties").paginate(
        FiltersWithOperator=[{"Key": "PingStatus", "Values": ["Online"], "Operator": "NotEqual"}]
    )
    offline = [n for p in pages for n in p["InstanceProperties"]]
    assert offline and all(n["PingStatus"] != "Online" for n in offline)
    with pytest.raises(ClientError) as exc:
        ssm.describe_instance_properties(
            FiltersWithOperator=[{"Key": "Nonsense", "Values": ["x"], "Operator": "Equal"}]
        )
    assert error_of(exc)[0] == "InvalidFilterKey"


def test_instance_properties_filter_by_tag_and_check_values_as_aws(
    sandbox: Sandbox, ssm: Any
) -> None:
    """The quick path's one call (issue 25): tag:Name finds an EC2 node by its EC2 tag; the
    values are AWS's: at most 40, none with a line terminator (^.{1,100000}$, Java's dot)."""
    import json

    web = by_name(sandbox, "prod-web-01")
    found = ssm.describe_instance_properties(
        FiltersWithOperator=[{"Key": "tag:Name", "Values": ["prod-web-01"], "Operator": "Equal"}]
    )["InstanceProperties"]
    assert [n["InstanceId"] for n in found] == [web]

    def raw(values: list[str]) -> tuple[int, dict[str, Any]]:
        # botocore checks the count itself and never the pattern: the request as sent
        body = {"FiltersWithOperator": [{"Key": "tag:Name", "Values": values}]}
        import urllib.error
        import urllib.request

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        env = sandbox.env()
        creds = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])

        request = AWSRequest(
            "POST",
            sandbox.endpoint_url + "/",
            data=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": "AmazonSSM.DescribeInstanceProperties",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        SigV4Auth(creds, "ssm", "us-east-1").add_auth(request)
        prepared = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers), method="POST"
        )
        try:
            with urllib.request.urlopen(prepared, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert raw(["a"] * 40)[0] == 200
    status, answer = raw(["a"] * 41)
    assert (status, answer["__type"].split("#")[-1]) == (400, "ValidationException")
    status, answer = raw(["prod-web-01\nx"])
    assert (status, "regular expression pattern" in answer["message"]) == (400, True)


def test_hybrid_nodes_carry_their_own_fields(ssm: Any) -> None:
    nodes = all_nodes(ssm)
    hybrid = [n for n in nodes if n["ResourceType"] == "ManagedInstance"]
    ec2 = [n for n in nodes if n["ResourceType"] == "EC2Instance"]
    assert hybrid and ec2
    for n in hybrid:
        assert n["InstanceId"].startswith("mi-") and len(n["InstanceId"]) == 20
        assert {"Name", "RegistrationDate", "ActivationId", "ComputerName"} <= n.keys()
        assert n["SourceType"] == "AWS::SSM::ManagedInstance"
    for n in ec2:
        assert "RegistrationDate" not in n and n["SourceType"] == "AWS::EC2::Instance"
        assert {"IPAddress", "PlatformName", "IsLatestVersion", "LastPingDateTime"} <= n.keys()


def test_hybrid_tags_can_be_listed_added_and_removed(sandbox: Sandbox) -> None:
    # tags are an administrator's to set: the demo user may only look
    ssm = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    mi = all_nodes(ssm, Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}])[0]
    rid = mi["InstanceId"]
    ssm.add_tags_to_resource(
        ResourceType="ManagedInstance", ResourceId=rid, Tags=[{"Key": "owner", "Value": "neteng"}]
    )
    tags = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=rid)["TagList"]
    assert {"Key": "owner", "Value": "neteng"} in tags
    ssm.remove_tags_from_resource(ResourceType="ManagedInstance", ResourceId=rid, TagKeys=["owner"])
    tags = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=rid)["TagList"]
    assert "owner" not in {t["Key"] for t in tags}
    for bad in ("mi-00000000000000000", all_nodes(ssm)[0]["InstanceId"]):
        with pytest.raises(ClientError) as exc:
            ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=bad)
        assert error_of(exc)[0] == "InvalidResourceId"


def test_session_preferences_document(ssm: Any) -> None:
    doc = ssm.get_document(Name="SSM-SessionManagerRunShell")
    inputs = json.loads(doc["Content"])["inputs"]
    assert doc["DocumentType"] == "Session"
    assert (inputs["maxSessionDuration"], inputs["idleSessionTimeout"]) == ("60", "20")


# -- sessions -------------------------------------------------------------------------------------


def test_base_user_may_not_start_a_session(sandbox: Sandbox, ssm: Any) -> None:
    target = by_name(sandbox, "prod-web-01")
    with pytest.raises(ClientError) as exc:
        ssm.start_session(Target=target)
    code, message, status = error_of(exc)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: "
        f"ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/{target} "
        "because no identity-based policy allows the ssm:StartSession action"
    )


def test_role_cannot_reach_nodes_outside_its_scope(sandbox: Sandbox) -> None:
    staging = client(sandbox, "ssm", creds=sandbox.role_credentials("StagingDev"))
    with pytest.raises(ClientError) as exc:
        staging.start_session(Target=by_name(sandbox, "prod-web-01"))
    code, message, _ = error_of(exc)
    assert code == "AccessDeniedException"
    assert "assumed-role/StagingDev/operator" in message
    started = staging.start_session(Target=by_name(sandbox, "stg-web-01"))
    assert started["SessionId"].startswith("operator-")
    staging.terminate_session(SessionId=started["SessionId"])


@pytest.mark.parametrize("name", ["prod-cache-01", "stg-batch-01", "dev-noagent-01"])
def test_nodes_not_online_are_not_connected(sandbox: Sandbox, name: str) -> None:
    admin = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    target = by_name(sandbox, name)
    with pytest.raises(ClientError) as exc:
        admin.start_session(Target=target)
    assert error_of(exc)[:2] == ("TargetNotConnected", f"{target} is not connected.")
    assert admin.get_connection_status(Target=target)["Status"] == "notconnected"


def test_session_lifecycle_describe_and_idempotent_terminate(sandbox: Sandbox) -> None:
    admin = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin", session_name="ann"))
    target = by_name(sandbox, "prod-web-02")
    assert admin.get_connection_status(Target=target)["Status"] == "connected"
    started = admin.start_session(Target=target, Reason="INC-42 disk full")
    sid = started["SessionId"]
    assert sid.startswith("ann-") and len(sid) == len("ann-") + 17
    port = sandbox.state.datachannel.port
    assert started["StreamUrl"] == (
        f"ws://127.0.0.1:{port}/v1/data-channel/{sid}?role=publish_subscribe"
    )
    active = admin.describe_sessions(State="Active", Filters=[{"key": "SessionId", "value": sid}])[
        "Sessions"
    ]
    assert len(active) == 1
    assert active[0]["Reason"] == "INC-42 disk full"
    assert active[0]["DocumentName"] == "SSM-SessionManagerRunShell"
    assert active[0]["Owner"].endswith("assumed-role/FleetAdmin/ann")
    assert active[0]["Status"] == "Connected" and active[0]["MaxSessionDuration"] == "60"
    assert admin.terminate_session(SessionId=sid)["SessionId"] == sid
    assert admin.terminate_session(SessionId=sid)["SessionId"] == sid
    history = admin.describe_sessions(State="History", Filters=[{"key": "Target", "value": target}])
    assert sid in {s["SessionId"] for s in history["Sessions"]}
    assert all(s["Status"] == "Terminated" and "EndDate" in s for s in history["Sessions"])
    with pytest.raises(ClientError) as exc:
        admin.resume_session(SessionId=sid)
    assert error_of(exc)[0] == "DoesNotExistException"


def test_describe_sessions_pages(sandbox: Sandbox) -> None:
    admin = client(sandbox, "ssm", "eu-west-1", creds=sandbox.role_credentials("FleetAdmin"))
    target = by_name(sandbox, "prod-web-eu-01", "eu-west-1")
    ids = {admin.start_session(Target=target)["SessionId"] for _ in range(3)}
    first = admin.describe_sessions(State="Active", MaxResults=2)
    assert len(first["Sessions"]) == 2 and first["NextToken"]
    rest = admin.describe_sessions(State="Active", MaxResults=2, NextToken=first["NextToken"])
    assert ids <= {s["SessionId"] for s in first["Sessions"] + rest["Sessions"]}
    for sid in ids:
        admin.terminate_session(SessionId=sid)


# -- the stream contract and local services -----------------------------------------------------------
