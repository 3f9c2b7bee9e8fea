"""Run a command on many nodes: the use case shared by `--run` and the TUI's `e`.

Targets span every access held: each node goes with its own account's access (fleets.access_for);
the preview says who is left out and why (out of the access's scope, not connectable, no document
for its platform). Sending is one SendCommand per account, region and document (50 nodes a batch,
or one with Targets when the operator asked by tag); watching is ListCommandInvocations with
details, polled with backoff (one page per 50 nodes a poll), whose 2,500 characters of output are
the whole of it for most nodes; GetCommandInvocation only for a node whose output was cut. Every
command sent is in the audit log with the reason, which is also the command's comment.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sessiontui.aws import commands as api
from sessiontui.core.errors import SessiontuiError, UsageError
from sessiontui.core.run import (
    BATCH,
    PREVIEW_CUT,
    RUN_POWERSHELL,
    RUN_SHELL,
    SCRIPT_DOCUMENTS,
    TERMINAL,
    LeftOut,
    NodeRun,
    Preview,
    node_status,
    script_document,
    tag_targets,
)

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.access import Access
    from sessiontui.core.clock import Clock
    from sessiontui.core.node import Node

FIRST_POLL = 0.5  # seconds; the backoff grows by half up to LAST_POLL while nothing changes
LAST_POLL = 5.0


@dataclass(frozen=True)
class RunSpec:
    """What the operator asked to run."""

    script: str = ""  # for the script documents (AWS-RunShellScript / AWS-RunPowerShellScript)
    document: str = ""  # "" : the script document that fits each node's platform
    parameters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    max_concurrency: str = "50"
    max_errors: str = "0"
    timeout: int | None = None  # seconds: the script's execution timeout
    reason: str = ""
    s3_bucket: str = ""
    cloudwatch_log_group: str = ""
    # the operator asked by tag (--tag, or a filter of tags only): sent with Targets where the
    # tag reaches exactly the nodes planned, so AWS resolves it, one command however many nodes
    tags: tuple[tuple[str, str], ...] = ()

    def parameters_for(self, document: str) -> dict[str, list[str]]:
        params = {k: list(v) for k, v in self.parameters.items()}
        if document in SCRIPT_DOCUMENTS:
            params["commands"] = self.script.splitlines() or [self.script]
            if self.timeout is not None:
                params["executionTimeout"] = [str(self.timeout)]
        return params


@dataclass
class Planned:
    node: Node
    access: Access | None
    run: NodeRun
    targets: list[dict[str, Any]] | None = None  # Targets by tag, else sent by InstanceIds


def plan(
    nodes: Sequence[Node],
    accesses: Sequence[Access],
    spec: RunSpec,
    platforms: Sequence[str] | None = None,
) -> tuple[Preview, list[Planned]]:
    """Who the run reaches and who it leaves out. `platforms`: what a named document runs on."""
    from sessiontui.operations.fleets import access_for

    preview = Preview()
    planned: list[Planned] = []
    for node in nodes:
        account = node.account_label
        why = ""
        access: Access | None = None
        if not node.connectable:
            why = f"not connectable: {node.why}"
        elif accesses:
            access, refused = access_for(node, accesses)
            why = f"out of the access's scope: {refused}" if refused else ""
        document = spec.document or script_document(node.platform) or ""
        if not why and not document:
            why = f"no script document runs on its platform ({node.platform or 'unknown'})"
        if not why and spec.document and platforms and node.platform not in platforms:
            why = f"{spec.document} does not run on {node.platform or 'an unknown platform'}"
        if why:
            preview.left_out.append(LeftOut(node.id, node.display_name, account, node.region, why))
            continue
        run = NodeRun(node.id, node.display_name, account, node.region, document=document)
        preview.runs.append(run)
        planned.append(Planned(node, access, run))
    if spec.tags:
        _by_tag(preview, planned, spec.tags)
    return preview, planned


def _by_tag(preview: Preview, planned: list[Planned], tags: Sequence[tuple[str, str]]) -> None:
    """Targets by tag for each account and region where the tag reaches the planned nodes and
    no other: a node left out there, or two documents, or a tag whose case differs from the
    one asked, and AWS's tag would reach what the preview promised not to (or miss some)."""
    targets, why = tag_targets(tags)
    places: dict[tuple[str, str], list[Planned]] = {}
    for p in planned:
        places.setdefault((p.run.account or "-", p.run.region), []).append(p)
    for place, members in places.items():
        reason = why
        left = sum(1 for o in preview.left_out if (o.account or "-", o.region) == place)
        documents = sorted({m.run.document for m in members})
        if not reason and left:
            reason = f"the tag also reaches {left} node{'s' if left != 1 else ''} left out"
        elif not reason and len(documents) > 1:
            reason = f"two documents ({', '.join(documents)})"
        elif not reason and len({m.access.name if m.access else "" for m in members}) > 1:
            reason = "two accesses"
        elif not reason and any(
            m.node.tags.get(key) != value for m in members for key, value in tags
        ):
            reason = "a tag's case differs from the one asked"
        if reason:
            preview.how[place] = f"by instance ids: {reason}"
            continue
        preview.how[place] = "by tag " + ", ".join(f"{k}={v}" for k, v in tags)
        for m in members:
            m.targets = targets


@dataclass
class _Command:
    command_id: str
    factory: ClientFactory
    region: str
    runs: dict[str, NodeRun]  # instance id -> its run
    by_tag: bool = False  # sent with Targets: AWS says which nodes the tag reached
    account: str = ""
    document: str = ""


class CommandRun:
    """One run: sent per account, region and document; polled until every node is over."""

    def __init__(
        self,
        planned: Sequence[Planned],
        spec: RunSpec,
        factory_for: Callable[[Access | None], ClientFactory],
        audit: Any,
        clock: Clock,
    ) -> None:
        self.planned = list(planned)
        self.spec = spec
        self.factory_for = factory_for
        self.audit = audit
        self.clock = clock
        self.runs = [p.run for p in self.planned]
        self.commands: list[_Command] = []
        self.started: datetime | None = None
        self.cancelled = False
        self._lock = threading.Lock()
        self._began = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._began

    @property
    def done(self) -> bool:
        return all(r.done for r in self.runs)

    def send(self) -> list[str]:
        """SendCommand for every group (50 nodes a command, or one with Targets); a batch AWS
        refuses is marked on its nodes and named in what this returns. Raises the refusal when
        every batch was refused. Stops sending once the run is cancelled."""
        self.started = self.clock.now()
        self._began = time.monotonic()
        groups: dict[tuple[str, str, str, str], list[Planned]] = {}
        for p in self.planned:
            key = (p.access.name if p.access else "", p.run.account, p.run.region, p.run.document)
            groups.setdefault(key, []).append(p)
        problems: list[str] = []
        last: SessiontuiError | None = None
        for (role, account, region, document), members in groups.items():
            factory = self.factory_for(members[0].access)
            ssm = factory.client("ssm", region)
            send = api.Send(
                document=document,
                parameters=self.spec.parameters_for(document),
                comment=self.spec.reason,
                max_concurrency=self.spec.max_concurrency,
                max_errors=self.spec.max_errors,
                s3_bucket=self.spec.s3_bucket,
                cloudwatch_log_group=self.spec.cloudwatch_log_group,
            )
            targets = members[0].targets
            batches = (
                [members]
                if targets
                else [members[n : n + BATCH] for n in range(0, len(members), BATCH)]
            )
            for batch in batches:
                with self._lock:
                    if self.cancelled:  # Ctrl-C or X while sending: the rest is never sent
                        for m in batch:
                            m.run.status, m.run.note = "Cancelled", "not sent: cancelled"
                        continue
                try:
                    command_id = (
                        api.send_by_targets(ssm, targets, send)
                        if targets
                        else api.send_command(ssm, [m.node.id for m in batch], send)[0]
                    )
                except SessiontuiError as err:
                    last = err
                    problems.append(f"{account or '-'} {region}: {err.message}")
                    for m in batch:
                        m.run.status, m.run.note = "Failed", f"not sent: {err.message}"
                    continue
                self._sent(command_id, factory, region, batch, targets, (role, account, document))
        if last is not None and not self.commands:
            raise last
        return problems

    def _sent(
        self,
        command_id: str,
        factory: ClientFactory,
        region: str,
        batch: list[Planned],
        targets: list[dict[str, Any]] | None,
        what: tuple[str, str, str],
    ) -> None:
        role, account, document = what
        for m in batch:
            m.run.command_id = command_id
            m.run.log_group = self.spec.cloudwatch_log_group
        command = _Command(
            command_id,
            factory,
            region,
            {m.node.id: m.run for m in batch},
            by_tag=bool(targets),
            account=account,
            document=document,
        )
        with self._lock:
            self.commands.append(command)
            late = self.cancelled  # cancelled while this one was on its way: cancel it too
        self.audit.write(
            "command_sent",
            command_id=command_id,
            document=document,
            commands=self.spec.script if document in (RUN_SHELL, RUN_POWERSHELL) else "",
            parameters={k: list(v) for k, v in self.spec.parameters.items()},
            targets=[m.node.id for m in batch],
            tag_targets=targets or None,
            account=account,
            region=region,
            role=role,
            reason=self.spec.reason or None,
            max_concurrency=self.spec.max_concurrency,
            max_errors=self.spec.max_errors,
        )
        if late:
            with contextlib.suppress(SessiontuiError):
                api.cancel_command(factory.client("ssm", region), command_id)

    def send_and_follow(
        self,
        on_finished: Callable[[NodeRun], None],
        stop: threading.Event | None = None,
        on_poll: Callable[[], None] | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        """send() beside the polling, so the first results show while later batches are still
        on their way (1,000 nodes are 20 SendCommands). Nodes AWS refused are reported as
        finished once sending is over; the refusal is raised when every batch was refused."""
        outcome: dict[str, Any] = {}

        def sending() -> None:
            try:
                outcome["problems"] = self.send()
            except SessiontuiError as err:
                outcome["error"] = err

        sender = threading.Thread(target=sending, name="run-send", daemon=True)
        sender.start()
        try:
            self.follow(on_finished, stop, on_poll, sending=sender.is_alive)
        except BaseException:
            with self._lock:  # Ctrl-C: send no more; what was sent is for cancel() to end
                self.cancelled = True
            raise
        finally:
            sender.join()
        if "error" in outcome:
            raise outcome["error"]
        for problem in outcome.get("problems", []):
            if on_problem is not None:
                on_problem(problem)
        for run in self.runs:
            if run.note.startswith("not sent"):
                on_finished(run)
        if on_poll is not None:
            on_poll()

    def poll(self) -> list[NodeRun]:
        """One look at every command not over yet; the runs that finished since the last look."""
        finished: list[NodeRun] = []
        with self._lock:
            commands = [c for c in self.commands if not all(r.done for r in c.runs.values())]
        for command in commands:
            ssm = command.factory.client("ssm", command.region)
            rows = api.list_invocations(ssm, command.command_id)
            for row in rows:
                instance_id = str(row.get("InstanceId", ""))
                run = command.runs.get(instance_id)
                if run is None and command.by_tag:
                    run = self._reached(command, instance_id, row)
                if run is None or run.done:
                    continue
                _update(run, row)
                if run.done:
                    if not run.full:  # over the details' 2,500 characters: the whole of it
                        self._fetch_output(ssm, command.command_id, run)
                    finished.append(run)
            if command.by_tag:
                finished += self._missed(ssm, command, {str(r.get("InstanceId")) for r in rows})
        return finished

    def _reached(self, command: _Command, instance_id: str, row: Mapping[str, Any]) -> NodeRun:
        """A node the tag reached that the listing did not show (tagged since): a row of its own."""
        name = str(row.get("InstanceName") or "") or instance_id
        run = NodeRun(instance_id, name, command.account, command.region, command.document)
        run.command_id = command.command_id
        with self._lock:
            command.runs[instance_id] = run
            self.runs.append(run)
        return run

    def _missed(self, ssm: Any, command: _Command, seen: set[str]) -> list[NodeRun]:
        """Planned nodes the tag did not reach (untagged since the listing), once AWS says the
        command is over: never run, so Undeliverable, with the reason."""
        missing = [r for i, r in command.runs.items() if i not in seen and not r.done]
        if not missing or not all(r.done for i, r in command.runs.items() if i in seen):
            return []
        if api.command_status(ssm, command.command_id) not in TERMINAL:
            return []
        for run in missing:
            run.status, run.note = (
                "Undeliverable",
                "the tag did not reach it (changed since the listing?)",
            )
        return missing

    def _fetch_output(self, ssm: Any, command_id: str, run: NodeRun) -> None:
        """The node's whole output once it is over (24,000 / 8,000 characters: AWS's cut)."""
        if run.started is None:
            return  # never ran: nothing to read
        try:
            answer = api.get_invocation(ssm, command_id, run.node_id)
        except SessiontuiError:
            return  # the preview from ListCommandInvocations stays
        run.output = str(answer.get("StandardOutputContent", ""))
        run.error = str(answer.get("StandardErrorContent", ""))
        run.output_url = str(answer.get("StandardOutputUrl", "") or run.output_url)
        run.error_url = str(answer.get("StandardErrorUrl", "") or run.error_url)
        run.full = True

    def follow(
        self,
        on_finished: Callable[[NodeRun], None],
        stop: threading.Event | None = None,
        on_poll: Callable[[], None] | None = None,
        sending: Callable[[], bool] | None = None,
    ) -> None:
        """Poll with backoff until every node is over (or `stop` is set); while `sending` says
        batches are still being sent, at the first pace."""
        delay = FIRST_POLL
        while not self.done and not (stop is not None and stop.is_set()):
            before = [(r.status, r.exit_code) for r in self.runs]
            for run in self.poll():
                on_finished(run)
            if on_poll is not None:
                on_poll()
            if self.done:
                return
            changed = before != [(r.status, r.exit_code) for r in self.runs]
            busy = sending is not None and sending()
            delay = FIRST_POLL if changed or busy else min(LAST_POLL, delay * 1.5)
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)

    def cancel(self, node_id: str | None = None) -> list[str]:
        """CancelCommand for every command (or the one `node_id` is in); problems in words."""
        problems: list[str] = []
        with self._lock:
            commands = list(self.commands)
            if node_id is None:
                self.cancelled = True
        for command in commands:
            if all(r.done for r in command.runs.values()):
                continue
            if node_id is not None and node_id not in command.runs:
                continue
            ssm = command.factory.client("ssm", command.region)
            try:
                api.cancel_command(ssm, command.command_id, [node_id] if node_id else None)
            except SessiontuiError as err:
                problems.append(f"{command.command_id}: {err.message}")
                continue
            self.audit.write(
                "command_cancelled", command_id=command.command_id, target=node_id or "all"
            )
        return problems

    def record(self) -> dict[str, Any]:
        """The run as the runs store keeps it."""
        return {
            "started": self.started.isoformat() if self.started else None,
            "script": self.spec.script,
            "document": self.spec.document,
            "parameters": {k: list(v) for k, v in self.spec.parameters.items()},
            "reason": self.spec.reason,
            "max_concurrency": self.spec.max_concurrency,
            "max_errors": self.spec.max_errors,
            "command_ids": [c.command_id for c in self.commands],
            "nodes": [r.to_json() for r in self.runs],
        }


def _update(run: NodeRun, row: Mapping[str, Any]) -> None:
    plugins = row.get("CommandPlugins") or [{}]
    plugin = plugins[0] if isinstance(plugins[0], Mapping) else {}
    run.status = node_status(str(row.get("Status", "")), str(row.get("StatusDetails", "")))
    started, ended = plugin.get("ResponseStartDateTime"), plugin.get("ResponseFinishDateTime")
    run.started = started if isinstance(started, datetime) else run.started
    run.ended = ended if isinstance(ended, datetime) else run.ended
    code = plugin.get("ResponseCode")
    if run.status in ("Success", "Failed", "TimedOut") and isinstance(code, int):
        run.exit_code = code
    if not run.full:
        # the details' output, stdout then stderr, cut at 2,500 characters: under that it is
        # the whole of it, and no GetCommandInvocation is needed for this node
        output = str(plugin.get("Output", ""))
        out, _, err = output.partition("\n----------ERROR-------\n")
        run.output, run.error = out, err
        run.full = run.status in TERMINAL and len(output) < PREVIEW_CUT
    run.output_url = str(plugin.get("StandardOutputUrl", "") or run.output_url)
    run.error_url = str(plugin.get("StandardErrorUrl", "") or run.error_url)
    if run.status in TERMINAL and run.ended is None and run.started is not None:
        run.ended = run.started


def document_platforms(factory: ClientFactory, region: str, name: str) -> list[str]:
    """The platforms a named document runs on (ListDocuments), [] when not known."""
    if name in SCRIPT_DOCUMENTS:
        return list(SCRIPT_DOCUMENTS[name])
    for doc in api.list_documents(factory.client("ssm", region), name):
        if doc.get("Name") == name:
            return [str(p) for p in doc.get("PlatformTypes", [])]
    return []


def with_document_timeout(factory: ClientFactory, region: str, spec: RunSpec) -> RunSpec:
    """--timeout with a named document: its own executionTimeout parameter, as the script
    documents take it. A document without one has no execution timeout to set: refused, rather
    than sent with the operator's limit silently dropped."""
    if spec.timeout is None or not spec.document or spec.document in SCRIPT_DOCUMENTS:
        return spec
    if "executionTimeout" in spec.parameters:
        raise UsageError("--timeout and --parameter executionTimeout=... say the same: give one")
    declared = {
        str(p.get("Name", ""))
        for p in api.document_parameters(factory.client("ssm", region), spec.document)
    }
    if "executionTimeout" not in declared:
        raise UsageError(
            f"--timeout: {spec.document} has no executionTimeout parameter",
            "its own parameters (--parameter NAME=VALUE) say how long it may run",
        )
    parameters = {**spec.parameters, "executionTimeout": [str(spec.timeout)]}
    return replace(spec, parameters=parameters)


class Documents:
    """The Command documents of one account and region, for the TUI's picker (blocking calls)."""

    def __init__(self, factory: ClientFactory, region: str) -> None:
        self.factory = factory
        self.region = region

    def page(self, search: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return api.documents_page(self.factory.client("ssm", self.region), search, token)

    def parameters(self, name: str) -> list[dict[str, Any]]:
        return api.document_parameters(self.factory.client("ssm", self.region), name)
