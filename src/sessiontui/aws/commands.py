"""Run Command API calls: SendCommand in batches of 50 InstanceIds, ListCommandInvocations with
details (one page per 50 nodes), GetCommandInvocation for one node's whole output, CancelCommand,
ListDocuments and DescribeDocument.

The ssm client is always passed in; errors come out as core errors with the documented exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sessiontui.aws.sessions import map_client_error
from sessiontui.core.errors import UsageError
from sessiontui.core.run import BATCH

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
else:
    SSMClient = Any


BAD_INPUT = {
    "InvalidDocument",
    "InvalidParameters",
    "InvalidDocumentVersion",
    "ValidationException",
}


@dataclass(frozen=True)
class Send:
    """What one SendCommand asks for, whichever nodes it goes to."""

    document: str
    parameters: Mapping[str, Sequence[str]]
    comment: str = ""
    max_concurrency: str = "50"
    max_errors: str = "0"
    timeout_seconds: int | None = None  # delivery timeout; the execution timeout is a parameter
    s3_bucket: str = ""
    cloudwatch_log_group: str = ""


def _send_args(send: Send) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "DocumentName": send.document,
        "Parameters": {k: list(v) for k, v in send.parameters.items()},
        "MaxConcurrency": send.max_concurrency,
        "MaxErrors": send.max_errors,
    }
    if send.comment:
        kwargs["Comment"] = send.comment[:100]  # AWS's limit
    if send.timeout_seconds is not None:
        kwargs["TimeoutSeconds"] = send.timeout_seconds
    if send.s3_bucket:
        kwargs["OutputS3BucketName"] = send.s3_bucket
    if send.cloudwatch_log_group:
        kwargs["CloudWatchOutputConfig"] = {
            "CloudWatchLogGroupName": send.cloudwatch_log_group,
            "CloudWatchOutputEnabled": True,
        }
    return kwargs


def _send(ssm: SSMClient, kwargs: dict[str, Any], document: str) -> str:
    try:
        answer = ssm.send_command(**kwargs)
    except ClientError as e:
        error = e.response.get("Error", {})
        if error.get("Code") in BAD_INPUT:  # the operator's document or parameters
            raise UsageError(
                f"SendCommand refused {document}: {error.get('Message') or error.get('Code')}"
            ) from None
        raise map_client_error(e, "SendCommand") from None
    except BotoCoreError as e:
        raise map_client_error(e, "SendCommand") from None
    return str(answer["Command"]["CommandId"])


def send_command(ssm: SSMClient, instance_ids: Sequence[str], send: Send) -> list[str]:
    """One SendCommand per 50 nodes; the command ids in order. MaxConcurrency and MaxErrors hold
    within each batch, as AWS applies them per command."""
    ids: list[str] = []
    for start in range(0, len(instance_ids), BATCH):
        kwargs = {"InstanceIds": list(instance_ids[start : start + BATCH]), **_send_args(send)}
        ids.append(_send(ssm, kwargs, send.document))
    return ids


def send_by_targets(ssm: SSMClient, targets: Sequence[Mapping[str, Any]], send: Send) -> str:
    """One SendCommand with Targets (tag:K): AWS finds the nodes, however many; MaxConcurrency
    and MaxErrors hold over all of them."""
    kwargs = {"Targets": [dict(t) for t in targets], **_send_args(send)}
    return _send(ssm, kwargs, send.document)


def command_status(ssm: SSMClient, command_id: str) -> str:
    """The command's own status (ListCommands): over once AWS has nothing more to deliver."""
    try:
        found = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "ListCommands") from None
    return str(found[0].get("Status", "")) if found else ""


def list_invocations(ssm: SSMClient, command_id: str) -> list[dict[str, Any]]:
    """Every node's invocation of one command, with its plugin's details (status, code, output)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"CommandId": command_id, "Details": True, "MaxResults": 50}
    try:
        while True:
            page = ssm.list_command_invocations(**kwargs)
            found += [dict(i) for i in page.get("CommandInvocations", [])]
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "ListCommandInvocations") from None


def get_invocation(ssm: SSMClient, command_id: str, instance_id: str) -> dict[str, Any]:
    """One node's whole output as AWS keeps it (stdout cut at 24,000, stderr at 8,000)."""
    try:
        return dict(ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id))
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "GetCommandInvocation", instance_id) from None


def cancel_command(
    ssm: SSMClient, command_id: str, instance_ids: Sequence[str] | None = None
) -> None:
    kwargs: dict[str, Any] = {"CommandId": command_id}
    if instance_ids:
        kwargs["InstanceIds"] = list(instance_ids)
    try:
        ssm.cancel_command(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "CancelCommand") from None


def documents_page(
    ssm: SSMClient, search: str = "", token: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the Command documents the account may run (AWS's 50 at most), AWS's and its
    own; `search` narrows by name on AWS's side; the token for the next page, if any."""
    filters: list[dict[str, Any]] = [{"Key": "DocumentType", "Values": ["Command"]}]
    if search.strip():
        filters.append({"Key": "SearchKeyword", "Values": [search.strip()]})
    kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 50}
    if token:
        kwargs["NextToken"] = token
    try:
        page = ssm.list_documents(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "ListDocuments") from None
    found = [dict(d) for d in page.get("DocumentIdentifiers", [])]
    return found, page.get("NextToken") or None


def list_documents(ssm: SSMClient, search: str = "") -> list[dict[str, Any]]:
    """Every page of `documents_page`."""
    found, token = documents_page(ssm, search)
    while token:
        more, token = documents_page(ssm, search, token)
        found += more
    return found


def document_parameters(ssm: SSMClient, name: str) -> list[dict[str, Any]]:
    """A document's parameters (Name, Type, Description, DefaultValue)."""
    try:
        found = ssm.describe_document(Name=name)
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "DescribeDocument") from None
    return [dict(p) for p in found.get("Document", {}).get("Parameters", [])]
