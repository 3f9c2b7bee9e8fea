"""The SSM actions moto 5.2 lacks, answering as AWS does (JSON 1.1 protocol): the dispatch table.

The actions live in `ssm_nodes` (inventory, tags), `ssm_sessions` (sessions and their stream)
`ssm_commands` (Run Command) and `ssm_documents` (its documents);
what they share (request, errors, paging) in `ssm_protocol`.
"""

from __future__ import annotations

from sessiontui_sandbox.ssm_access import get_access_token, start_access_request
from sessiontui_sandbox.ssm_commands import (
    cancel_command,
    get_command_invocation,
    list_command_invocations,
    list_commands,
    send_command,
)
from sessiontui_sandbox.ssm_documents import describe_document, list_documents
from sessiontui_sandbox.ssm_nodes import (
    add_tags_to_resource,
    describe_instance_information,
    describe_instance_properties,
    list_tags_for_resource,
    remove_tags_from_resource,
)
from sessiontui_sandbox.ssm_protocol import Handler, SsmRequest
from sessiontui_sandbox.ssm_sessions import (
    describe_sessions,
    get_connection_status,
    resume_session,
    start_session,
    terminate_session,
)

__all__ = ["HANDLERS", "SsmRequest"]

HANDLERS: dict[str, Handler] = {
    "DescribeInstanceInformation": describe_instance_information,
    "DescribeInstanceProperties": describe_instance_properties,
    "ListTagsForResource": list_tags_for_resource,
    "AddTagsToResource": add_tags_to_resource,
    "RemoveTagsFromResource": remove_tags_from_resource,
    "StartSession": start_session,
    "TerminateSession": terminate_session,
    "ResumeSession": resume_session,
    "DescribeSessions": describe_sessions,
    "GetConnectionStatus": get_connection_status,
    "StartAccessRequest": start_access_request,
    "GetAccessToken": get_access_token,
    "SendCommand": send_command,
    "ListCommands": list_commands,
    "ListCommandInvocations": list_command_invocations,
    "GetCommandInvocation": get_command_invocation,
    "CancelCommand": cancel_command,
    "ListDocuments": list_documents,
    "DescribeDocument": describe_document,
}
