"""Lean parsing of the listing's large answers: DescribeInstances, DescribeInstanceProperties and
DescribeInstanceInformation.

botocore turns every field of an answer into Python objects, through the service model: for
DescribeInstances that is some fifty fields an instance (block devices, interfaces, timestamps
through dateutil) of which the listing reads five, and it was most of the listing's CPU (0.43 ms
an instance here, docs/performance.md). botocore emits `before-parse.<service>.<operation>` with
the raw answer and merges `customized_response_dict` into what it parses; these handlers read the
fields the listing uses straight from the body with the C XML and JSON parsers, put them there, and
leave botocore an empty body of the same kind to parse.

Only successful answers are touched, and only when they parse: an error, a throttle or a body cut
short goes to botocore exactly as before, so its retries and error shapes are unchanged.

The handlers are registered on the listing's own clients (`attach`), whose answers for these two
operations then carry only the listing's fields.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

EC2_EVENT = "before-parse.ec2.DescribeInstances"
SSM_EVENT = "before-parse.ssm.DescribeInstanceInformation"
PROPERTIES_EVENT = "before-parse.ssm.DescribeInstanceProperties"


def _instances(body: bytes) -> tuple[dict[str, Any], bytes]:
    """DescribeInstances XML -> (the fields the listing reads, an empty answer for botocore)."""
    root = ET.fromstring(body)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    reservations = []
    for reservation in root.iterfind(f"{ns}reservationSet/{ns}item"):
        instances = []
        # direct children only: interfaces and block devices nest their own ids, IPs and tags
        for item in reservation.iterfind(f"{ns}instancesSet/{ns}item"):
            inst: dict[str, Any] = {"InstanceId": item.findtext(f"{ns}instanceId") or ""}
            state = item.findtext(f"{ns}instanceState/{ns}name")
            if state:
                inst["State"] = {"Name": state}
            ip = item.findtext(f"{ns}privateIpAddress")
            if ip:
                inst["PrivateIpAddress"] = ip
            platform = item.findtext(f"{ns}platform")
            if platform:
                inst["Platform"] = platform
            tags = [
                {"Key": tag.findtext(f"{ns}key") or "", "Value": tag.findtext(f"{ns}value") or ""}
                for tag in item.iterfind(f"{ns}tagSet/{ns}item")
            ]
            if tags:
                inst["Tags"] = tags
            # the databases' bastion choice reads where a node sits (aws/databases.networks)
            vpc = item.findtext(f"{ns}vpcId")
            if vpc:
                inst["VpcId"] = vpc
            groups = [
                {"GroupId": g.findtext(f"{ns}groupId") or ""}
                for g in item.iterfind(f"{ns}groupSet/{ns}item")
            ]
            if groups:
                inst["SecurityGroups"] = groups
            instances.append(inst)
        reservations.append({"Instances": instances})
    lean: dict[str, Any] = {"Reservations": reservations}
    token = root.findtext(f"{ns}nextToken")
    if token:
        lean["NextToken"] = token
    request_id = root.findtext(f"{ns}requestId") or root.findtext(f"{ns}RequestId") or ""
    tag = root.tag[len(ns) :]
    xmlns = f' xmlns="{ns[1:-1]}"' if ns else ""
    empty = f"<{tag}{xmlns}><requestId>{request_id}</requestId></{tag}>".encode()
    return lean, empty


def _instance_information(body: bytes) -> tuple[dict[str, Any], bytes]:
    """DescribeInstanceInformation JSON as it came (timestamps stay epoch seconds)."""
    data = json.loads(body)
    if not isinstance(data, dict) or "InstanceInformationList" not in data:
        raise ValueError("not a DescribeInstanceInformation answer")
    return data, b"{}"


def _instance_properties(body: bytes) -> tuple[dict[str, Any], bytes]:
    """DescribeInstanceProperties JSON as it came, like DescribeInstanceInformation's."""
    data = json.loads(body)
    if not isinstance(data, dict) or "InstanceProperties" not in data:
        raise ValueError("not a DescribeInstanceProperties answer")
    return data, b"{}"


_LEAN = {
    EC2_EVENT: _instances,
    SSM_EVENT: _instance_information,
    PROPERTIES_EVENT: _instance_properties,
}


def _handler(
    event_name: str,
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    **_: object,
) -> None:
    if response_dict.get("status_code") != 200:
        return
    lean = _LEAN.get(event_name)
    body = response_dict.get("body")
    if lean is None or not isinstance(body, bytes | bytearray):
        return
    try:
        fields, empty = lean(bytes(body))
    except (ET.ParseError, ValueError):
        return  # botocore parses it and raises what it always raised
    customized_response_dict.update(fields)
    response_dict["body"] = empty


def attach(client: BaseClient) -> None:
    """Lean answers for this client's listing calls (idempotent)."""
    events = client.meta.events
    for event in _LEAN:
        events.register(event, _handler, unique_id=f"sessiontui-lean-{event}")
