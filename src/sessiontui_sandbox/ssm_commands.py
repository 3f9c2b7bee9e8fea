"""Run Command as moto 5.2 lacks it: SendCommand, ListCommands, ListCommandInvocations,
GetCommandInvocation and CancelCommand, answered as AWS answers them (the documents they run:
ssm_documents).

Each command's script runs for real, on this machine, in the node's environment
(`node_host`: its home, the agent's user, its name for `hostname`). A scheduler thread per
command delivers it as AWS does: MaxConcurrency invocations at a time, in target order; it stops
sending once more than MaxErrors invocations failed or timed out; a node that is not online
(or a stopped instance) is Undeliverable, which counts neither way; the script is killed at the
document's executionTimeout (TimedOut); CancelCommand cancels what is pending and kills what runs.
GetCommandInvocation cuts stdout at 24,000 characters and stderr at 8,000, ListCommandInvocations'
plugin Output at 2,500, as AWS does.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sessiontui_sandbox.node_host import COMMAND_USER, host_env, write_rcfile
from sessiontui_sandbox.ssm_documents import Document, check_parameters, find_document
from sessiontui_sandbox.ssm_nodes import ec2_state, node_name, node_tags
from sessiontui_sandbox.ssm_protocol import (
    SsmRequest,
    digest,
    epoch,
    max_results,
    modeled,
    page_offset,
    page_token,
    validation,
)
from sessiontui_sandbox.state import ManagedNode, SandboxState

STDOUT_CUT = 24_000  # GetCommandInvocation's StandardOutputContent
STDERR_CUT = 8_000  # ... and StandardErrorContent
PLUGIN_OUTPUT_CUT = 2_500  # ListCommandInvocations' CommandPlugins[].Output
DELIVERY_SECONDS = 0.3  # Pending -> InProgress: what the agent takes to pick a command up
MAX_INSTANCE_IDS = 50
MAX_TARGETS = 5
CONCURRENCY_PATTERN = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
ERRORS_PATTERN = re.compile(r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$")
TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}
COMMAND_FILTER_KEYS = ["InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName"]


@dataclass
class Invocation:
    instance_id: str
    instance_name: str
    node: ManagedNode | None
    status: str = "Pending"
    details: str = "Pending"
    start: datetime | None = None
    end: datetime | None = None
    code: int = -1
    stdout: str = ""
    stderr: str = ""
    cancel: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass
class CommandRecord:
    command_id: str
    region: str
    account: str
    owner: str
    document: Document
    parameters: dict[str, list[str]]
    comment: str
    requested: datetime
    timeout_seconds: int
    max_concurrency: str
    max_errors: str
    targets: list[dict[str, Any]]
    instance_ids: list[str]
    invocations: list[Invocation]
    output_s3: dict[str, str] = field(default_factory=dict)
    cloudwatch: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False
    stopped_sending: bool = False  # MaxErrors went over: the rest is never sent
    status: str = "Pending"
    details: str = "Pending"
    wake: threading.Event = field(default_factory=threading.Event)


class CommandBook:
    """Every command the sandbox was sent, newest last; guarded by the state's lock."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandRecord] = {}
        self.threads: list[threading.Thread] = []


def book(state: SandboxState) -> CommandBook:
    with state.lock:
        found = state.run_commands
        if found is None:
            found = state.run_commands = CommandBook()
        assert isinstance(found, CommandBook)
        return found


# -- limits ----------------------------------------------------------------------------------------


def limit_of(value: str, count: int, at_least: int) -> int:
    """MaxConcurrency / MaxErrors for `count` targets: a number, or a percentage of them
    (rounded up for concurrency, down for errors, as the console's examples show)."""
    if value.endswith("%"):
        share = int(value[:-1]) * count / 100
        return max(at_least, math.ceil(share) if at_least else math.floor(share))
    return max(at_least, int(value))


# -- SendCommand -----------------------------------------------------------------------------------


def _string(params: dict[str, Any], key: str, default: str = "") -> str:
    value = params.get(key, default)
    return value if isinstance(value, str) else default


def _resolve_targets(
    state: SandboxState, req: SsmRequest, targets: list[dict[str, Any]]
) -> list[ManagedNode]:
    """Nodes of the caller's account in the region whose tags (or ids) match every target."""
    with state.lock:
        nodes = [n for n in state.nodes.get(req.region, {}).values() if n.account == req.account]
    found = []
    for node in nodes:
        tags = node_tags(req.region, node, node.instance_id, node.account)
        ok = True
        for target in targets:
            key, values = str(target.get("Key", "")), [str(v) for v in target.get("Values") or []]
            if key == "InstanceIds":
                ok = ok and node.instance_id in values
            elif key.startswith("tag:"):
                ok = ok and tags.get(key[4:]) in values
            elif key == "tag-key":
                ok = ok and any(v in tags for v in values)
            else:
                raise modeled("InvalidTarget", f"Target key {key} is not supported.")
        if ok:
            found.append(node)
    return sorted(found, key=lambda n: n.instance_id)


def target_nodes(state: SandboxState, req: SsmRequest) -> list[tuple[str, ManagedNode | None]]:
    """SendCommand's targets as (id, node), in the order it delivers to them; for iam_authz too."""
    params = req.params
    ids = params.get("InstanceIds") or []
    if ids:
        return [(str(i), state.find_node(req.region, str(i), req.account)) for i in ids]
    targets = params.get("Targets") or []
    return [(n.instance_id, n) for n in _resolve_targets(state, req, targets)]


def send_command(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    name = _string(params, "DocumentName")
    if not name:
        raise validation("documentName", None, "Member must not be null")
    ids = params.get("InstanceIds") or []
    targets = params.get("Targets") or []
    if len(ids) > MAX_INSTANCE_IDS:
        raise validation(
            "instanceIds", ids, f"Member must have length less than or equal to {MAX_INSTANCE_IDS}"
        )
    if len(targets) > MAX_TARGETS:
        raise validation(
            "targets", targets, f"Member must have length less than or equal to {MAX_TARGETS}"
        )
    if bool(ids) == bool(targets):
        raise modeled(
            "InvalidParameters" if ids else "InvalidTarget",
            "Specify either InstanceIds or Targets, not both."
            if ids
            else "Specify either InstanceIds or Targets.",
        )
    if len(set(ids)) != len(ids):
        raise modeled("DuplicateInstanceId", "Instance IDs must be unique.")
    comment = _string(params, "Comment")
    if len(comment) > 100:
        raise validation("comment", comment, "Member must have length less than or equal to 100")
    concurrency = _string(params, "MaxConcurrency", "50")
    if not CONCURRENCY_PATTERN.match(concurrency):
        raise validation(
            "maxConcurrency",
            concurrency,
            f"Member must satisfy regular expression pattern: {CONCURRENCY_PATTERN.pattern}",
        )
    errors = _string(params, "MaxErrors", "0")
    if not ERRORS_PATTERN.match(errors):
        raise validation(
            "maxErrors",
            errors,
            f"Member must satisfy regular expression pattern: {ERRORS_PATTERN.pattern}",
        )
    timeout = params.get("TimeoutSeconds", 3600)
    if not isinstance(timeout, int) or not 30 <= timeout <= 2592000:
        raise validation("timeoutSeconds", timeout, "Member must have value between 30 and 2592000")
    document = find_document(req.account, name)
    if document is None:
        raise modeled("InvalidDocument", f"Document with name {name} does not exist.")
    parameters = check_parameters(document, params.get("Parameters"))
    chosen = target_nodes(state, req)
    missing = [i for i, node in chosen if node is None]
    if missing:
        listed = ", ".join(missing)
        raise modeled(
            "InvalidInstanceId",
            f"Instances [[{listed}]] not in a valid state for account {req.account}",
        )
    record = CommandRecord(
        command_id=str(uuid.uuid4()),
        region=req.region,
        account=req.account,
        owner=req.caller.arn,
        document=document,
        parameters=parameters,
        comment=comment,
        requested=state.now(),
        timeout_seconds=timeout,
        max_concurrency=concurrency,
        max_errors=errors,
        targets=[dict(t) for t in targets],
        instance_ids=[str(i) for i in ids],
        invocations=[Invocation(i, node_name(req.region, node, i), node) for i, node in chosen],
    )
    if _string(params, "OutputS3BucketName"):
        record.output_s3 = {
            "OutputS3Region": _string(params, "OutputS3Region") or req.region,
            "OutputS3BucketName": _string(params, "OutputS3BucketName"),
            "OutputS3KeyPrefix": _string(params, "OutputS3KeyPrefix"),
        }
    cloudwatch = params.get("CloudWatchOutputConfig")
    if isinstance(cloudwatch, dict):
        record.cloudwatch = dict(cloudwatch)
    records = book(state)
    with state.lock:
        records.commands[record.command_id] = record
        if not record.invocations:
            record.status, record.details = "Success", "NoInstancesInTag"
    answer = {"Command": command_json(state, record)}  # as sent: Pending, before delivery
    if record.invocations:
        thread = threading.Thread(
            target=_deliver,
            args=(state, record),
            name=f"sandbox-command-{record.command_id[:8]}",
            daemon=True,
        )
        with state.lock:
            records.threads.append(thread)
        thread.start()
    return answer


# -- delivery and execution ------------------------------------------------------------------------


def _online(node: ManagedNode | None) -> bool:
    if node is None or node.ping_status != "Online":
        return False
    return node.ec2 is None or ec2_state(node) == "running"


def _counts_as_error(inv: Invocation) -> bool:
    return inv.status in ("Failed", "TimedOut") and inv.details != "Undeliverable"


def _deliver(state: SandboxState, record: CommandRecord) -> None:
    total = len(record.invocations)
    concurrency = limit_of(record.max_concurrency, total, 1)
    max_errors = limit_of(record.max_errors, total, 0)
    running: list[threading.Thread] = []
    for inv in record.invocations:
        while True:
            running = [t for t in running if t.is_alive()]
            with state.lock:
                stop = record.cancelled or record.stopped_sending
                if not stop and sum(_counts_as_error(i) for i in record.invocations) > max_errors:
                    record.stopped_sending = True
                    stop = True
            if stop or len(running) < concurrency:
                break
            record.wake.wait(0.05)
            record.wake.clear()
        with state.lock:
            if inv.terminal:
                continue  # cancelled on its own while it waited
            if record.cancelled or record.stopped_sending:
                inv.status, inv.details = "Cancelled", "Cancelled"
                inv.end = state.now()
                continue
            if record.status == "Pending":
                record.status = record.details = "InProgress"
            if not _online(inv.node):
                inv.status, inv.details = "Failed", "Undeliverable"
                inv.end = state.now()
                continue
        thread = threading.Thread(
            target=_execute, args=(state, record, inv), name="sandbox-invocation", daemon=True
        )
        running.append(thread)
        thread.start()
    for thread in running:
        thread.join()
    with state.lock:
        _settle(record, max_errors)


def _settle(record: CommandRecord, max_errors: int) -> None:
    """The command's own status once every invocation is over (AWS's aggregate rules)."""
    invs = record.invocations
    errors = sum(_counts_as_error(i) for i in invs)
    if record.cancelled:
        record.status = record.details = "Cancelled"
    elif errors > max_errors:
        timed_out = any(i.status == "TimedOut" for i in invs)
        record.status = (
            "TimedOut"
            if timed_out and all(i.status != "Failed" or i.details == "Undeliverable" for i in invs)
            else "Failed"
        )
        record.details = "ExecutionTimedOut" if record.status == "TimedOut" else "Failed"
    elif all(i.status == "Success" for i in invs):
        record.status = record.details = "Success"
    else:
        record.status, record.details = "Success", "Incomplete"


def _script(record: CommandRecord) -> str:
    doc = record.document
    if not doc.runs:
        return (
            f"echo 'sandbox: {doc.name} is listed as AWS lists it; the sandbox does not carry "
            "it out' >&2\nexit 1\n"
        )
    if doc.script:
        text = doc.script
        for name, values in record.parameters.items():
            # a document's parameters land in its script as text, as the agent substitutes them
            text = text.replace("{{ " + name + " }}", "\n".join(values))
        return text
    return "\n".join(record.parameters.get("commands", [])) + "\n"


def _execute(state: SandboxState, record: CommandRecord, inv: Invocation) -> None:
    time.sleep(DELIVERY_SECONDS)
    home = tempfile.mkdtemp(prefix="ssm-run-")
    with state.lock:
        if inv.terminal:
            shutil.rmtree(home, ignore_errors=True)
            return
        inv.status = inv.details = "InProgress"
        inv.start = state.now()
    rc = write_rcfile(home, prompt=False)
    env = {**host_env(inv.instance_name, home, COMMAND_USER), "BASH_ENV": rc}
    workdir = (record.parameters.get("workingDirectory") or [""])[0]
    cwd = workdir if workdir and os.path.isdir(workdir) else home
    timeout = int((record.parameters.get("executionTimeout") or ["3600"])[0])
    out_path, err_path = os.path.join(home, "stdout"), os.path.join(home, "stderr")
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-c", _script(record)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        with state.lock:
            inv.proc = proc
        deadline = time.monotonic() + timeout
        ended_by = ""
        while proc.poll() is None:
            if inv.cancel:
                ended_by = "Cancelled"
            elif time.monotonic() >= deadline:
                ended_by = "TimedOut"
            if ended_by:
                _kill(proc)
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.1)
        code = proc.wait()
        stdout = _read(out_path)
        stderr = _read(err_path)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    with state.lock:
        inv.proc = None
        inv.end = state.now()
        inv.stdout, inv.stderr = stdout, stderr
        if ended_by == "Cancelled":
            inv.status = inv.details = "Cancelled"
            inv.code = -1
        elif ended_by == "TimedOut":
            inv.status, inv.details, inv.code = "TimedOut", "ExecutionTimedOut", -1
            inv.stderr += "\nfailed to run commands: exit status -1 (timed out)"
        else:
            inv.code = code
            inv.status = inv.details = "Success" if code == 0 else "Failed"
    record.wake.set()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
            return


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


# -- answers -----------------------------------------------------------------------------------


def command_json(state: SandboxState, record: CommandRecord) -> dict[str, Any]:
    invs = record.invocations
    with state.lock:
        if invs and record.status not in TERMINAL and all(i.terminal for i in invs):
            # the last invocation ended a moment before the scheduler noticed: same answer
            _settle(record, limit_of(record.max_errors, len(invs), 0))
        completed = sum(i.terminal for i in invs)
        errors = sum(_counts_as_error(i) for i in invs)
        out: dict[str, Any] = {
            "CommandId": record.command_id,
            "DocumentName": record.document.name,
            "DocumentVersion": "$DEFAULT",
            "Comment": record.comment,
            "ExpiresAfter": epoch(
                record.requested + timedelta(seconds=record.timeout_seconds + 3600)
            ),
            "Parameters": record.parameters,
            "InstanceIds": record.instance_ids,
            "Targets": record.targets,
            "RequestedDateTime": epoch(record.requested),
            "Status": record.status,
            "StatusDetails": record.details,
            "OutputS3Region": record.output_s3.get("OutputS3Region", record.region),
            "OutputS3BucketName": record.output_s3.get("OutputS3BucketName", ""),
            "OutputS3KeyPrefix": record.output_s3.get("OutputS3KeyPrefix", ""),
            "MaxConcurrency": record.max_concurrency,
            "MaxErrors": record.max_errors,
            "TargetCount": len(invs),
            "CompletedCount": completed,
            "ErrorCount": errors,
            "DeliveryTimedOutCount": 0,
            "ServiceRole": "",
            "NotificationConfig": {
                "NotificationArn": "",
                "NotificationEvents": [],
                "NotificationType": "",
            },
            "CloudWatchOutputConfig": record.cloudwatch
            or {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
            "TimeoutSeconds": record.timeout_seconds,
            "TriggeredAlarms": [],
        }
    return out


def _output_url(record: CommandRecord, inv: Invocation, stream: str) -> str:
    s3 = record.output_s3
    if not s3:
        return ""
    prefix = f"{s3['OutputS3KeyPrefix'].strip('/')}/" if s3["OutputS3KeyPrefix"] else ""
    key = f"{prefix}{record.command_id}/{inv.instance_id}/awsrunShellScript/0.{record.document.plugin}/{stream}"
    return f"https://s3.{s3['OutputS3Region']}.amazonaws.com/{s3['OutputS3BucketName']}/{key}"


def _plugin_output(inv: Invocation) -> str:
    text = inv.stdout
    if inv.stderr:
        text += "\n----------ERROR-------\n" + inv.stderr
    if len(text) > PLUGIN_OUTPUT_CUT:
        text = text[:PLUGIN_OUTPUT_CUT]
    return text


def _invocation_json(record: CommandRecord, inv: Invocation, details: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "CommandId": record.command_id,
        "InstanceId": inv.instance_id,
        "InstanceName": inv.instance_name if inv.node is not None and inv.node.ec2 is None else "",
        "Comment": record.comment,
        "DocumentName": record.document.name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": epoch(record.requested),
        "Status": inv.status,
        "StatusDetails": inv.details,
        "StandardOutputUrl": _output_url(record, inv, "stdout"),
        "StandardErrorUrl": _output_url(record, inv, "stderr"),
        "CommandPlugins": [],
        "ServiceRole": "",
        "NotificationConfig": {
            "NotificationArn": "",
            "NotificationEvents": [],
            "NotificationType": "",
        },
        "CloudWatchOutputConfig": record.cloudwatch
        or {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
    }
    if details:
        plugin: dict[str, Any] = {
            "Name": record.document.plugin,
            "Status": inv.status,
            "StatusDetails": inv.details,
            "ResponseCode": inv.code,
            "Output": _plugin_output(inv),
            "StandardOutputUrl": out["StandardOutputUrl"],
            "StandardErrorUrl": out["StandardErrorUrl"],
            "OutputS3Region": record.output_s3.get("OutputS3Region", record.region),
            "OutputS3BucketName": record.output_s3.get("OutputS3BucketName", ""),
            "OutputS3KeyPrefix": record.output_s3.get("OutputS3KeyPrefix", ""),
        }
        if inv.start is not None:
            plugin["ResponseStartDateTime"] = epoch(inv.start)
        if inv.end is not None and inv.start is not None:
            plugin["ResponseFinishDateTime"] = epoch(inv.end)
        out["CommandPlugins"] = [plugin]
    return out


def _record(state: SandboxState, req: SsmRequest, command_id: Any) -> CommandRecord:
    with state.lock:
        record = book(state).commands.get(str(command_id or ""))
    if record is None or record.region != req.region or record.account != req.account:
        raise modeled("InvalidCommandId", "")
    return record


def _records(state: SandboxState, req: SsmRequest, command_id: Any) -> list[CommandRecord]:
    """The one command asked for, else the account's commands in the region, newest first."""
    if command_id:
        return [_record(state, req, command_id)]
    with state.lock:
        records = [
            r
            for r in book(state).commands.values()
            if r.region == req.region and r.account == req.account
        ]
    records.sort(key=lambda r: r.requested, reverse=True)
    return records


def list_command_invocations(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    limit = max_results(params, 1, 50, 50)
    details = bool(params.get("Details", False))
    command_id, instance_id = params.get("CommandId"), params.get("InstanceId")
    digested = digest(req, command_id, instance_id, params.get("Filters"))
    offset = page_offset(state, params["NextToken"], digested) if "NextToken" in params else 0
    records = _records(state, req, command_id)
    with state.lock:
        rows = [
            _invocation_json(r, inv, details)
            for r in records
            for inv in r.invocations
            if not instance_id or inv.instance_id == instance_id
        ]
    out: dict[str, Any] = {"CommandInvocations": rows[offset : offset + limit]}
    if offset + limit < len(rows):
        out["NextToken"] = page_token(state, offset + limit, digested)
    return out


def get_command_invocation(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    command_id, instance_id = params.get("CommandId"), str(params.get("InstanceId") or "")
    with state.lock:
        record = book(state).commands.get(str(command_id or ""))
    if record is None or record.region != req.region or record.account != req.account:
        raise modeled("InvalidCommandId", "")
    inv = next((i for i in record.invocations if i.instance_id == instance_id), None)
    if inv is None:
        raise modeled("InvocationDoesNotExist", "")
    plugin = params.get("PluginName")
    if plugin and plugin != record.document.plugin:
        raise modeled("InvalidPluginName", "")
    with state.lock:
        out: dict[str, Any] = {
            "CommandId": record.command_id,
            "InstanceId": inv.instance_id,
            "Comment": record.comment,
            "DocumentName": record.document.name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": record.document.plugin,
            "ResponseCode": inv.code,
            "ExecutionStartDateTime": inv.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
            if inv.start
            else "",
            "ExecutionElapsedTime": _elapsed(inv),
            "ExecutionEndDateTime": inv.end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
            if inv.end and inv.start
            else "",
            "Status": inv.status,
            "StatusDetails": inv.details,
            "StandardOutputContent": inv.stdout[:STDOUT_CUT],
            "StandardOutputUrl": _output_url(record, inv, "stdout"),
            "StandardErrorContent": inv.stderr[:STDERR_CUT],
            "StandardErrorUrl": _output_url(record, inv, "stderr"),
            "CloudWatchOutputConfig": record.cloudwatch
            or {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        }
    return out


def _elapsed(inv: Invocation) -> str:
    if inv.start is None or inv.end is None:
        return ""
    seconds = (inv.end - inv.start).total_seconds()
    return f"PT{seconds:.3f}S"


def _command_matches(record: CommandRecord, key: str, value: str) -> bool:
    if key in ("InvokedAfter", "InvokedBefore"):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise modeled("InvalidFilterValue", f"The filter value {value} is not valid.") from None
        return record.requested >= when if key == "InvokedAfter" else record.requested <= when
    if key == "Status":
        return record.status == value
    if key == "DocumentName":
        return record.document.name == value
    if key == "ExecutionStage":
        return (record.status in TERMINAL) == (value == "Complete")
    return True


def list_commands(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    limit = max_results(params, 1, 50, 50)
    filters = params.get("Filters") or []
    checks: list[tuple[str, str]] = []
    for i, item in enumerate(filters, 1):
        key = str(item.get("key", ""))
        if key not in COMMAND_FILTER_KEYS:
            raise validation(
                f"filters.{i}.member.key",
                key,
                "Member must satisfy enum value set: [" + ", ".join(COMMAND_FILTER_KEYS) + "]",
            )
        checks.append((key, str(item.get("value", ""))))
    command_id, instance_id = params.get("CommandId"), params.get("InstanceId")
    digested = digest(req, command_id, instance_id, filters)
    offset = page_offset(state, params["NextToken"], digested) if "NextToken" in params else 0
    records = _records(state, req, command_id)
    rows = [
        command_json(state, r)
        for r in records
        if (not instance_id or any(i.instance_id == instance_id for i in r.invocations))
        and all(_command_matches(r, k, v) for k, v in checks)
    ]
    out: dict[str, Any] = {"Commands": rows[offset : offset + limit]}
    if offset + limit < len(rows):
        out["NextToken"] = page_token(state, offset + limit, digested)
    return out


def cancel_command(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    record = _record(state, req, params.get("CommandId"))
    ids = [str(i) for i in params.get("InstanceIds") or []]
    if len(set(ids)) != len(ids):
        raise modeled("DuplicateInstanceId", "")
    known = {i.instance_id for i in record.invocations}
    if any(i not in known for i in ids):
        raise modeled("InvalidInstanceId", "")
    with state.lock:
        if not ids:
            record.cancelled = True
        for inv in record.invocations:
            if (ids and inv.instance_id not in ids) or inv.terminal:
                continue
            inv.cancel = True
            if inv.proc is None:  # not started: cancelled at once
                inv.status = inv.details = "Cancelled"
                inv.end = state.now()
            else:
                inv.status = inv.details = "Cancelling"
        if not ids and record.status not in TERMINAL:
            record.status = record.details = "Cancelling"
    record.wake.set()
    return {}


def stop_all(state: SandboxState) -> None:
    """The sandbox is stopping: no script outlives it."""
    records = book(state)
    with state.lock:
        for record in records.commands.values():
            record.cancelled = True
            for inv in record.invocations:
                inv.cancel = True
            record.wake.set()
        threads = list(records.threads)
    for thread in threads:
        thread.join(timeout=3)
