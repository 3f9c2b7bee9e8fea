"""Run Command, the pure part: which document fits a node, MaxConcurrency/MaxErrors, the status of
one node's run as the operator reads it, AWS's output cut, and the summary of a run.

No I/O, no boto3: aws/commands.py calls AWS, operations/run_command.py drives a run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sessiontui.core.errors import ExitCode, UsageError

RUN_SHELL = "AWS-RunShellScript"
RUN_POWERSHELL = "AWS-RunPowerShellScript"
SCRIPT_DOCUMENTS = {RUN_SHELL: ("Linux", "MacOS"), RUN_POWERSHELL: ("Windows",)}
DEFAULT_CONCURRENCY = "50"  # AWS's defaults for SendCommand
DEFAULT_ERRORS = "0"
BATCH = 50  # SendCommand takes at most 50 InstanceIds
MAX_TAG_TARGETS = 5  # ... or at most five Targets
PREVIEW_CUT = 2_500  # ListCommandInvocations' details: stdout and stderr together, cut here
STDOUT_CUT = 24_000  # GetCommandInvocation's cut of stdout ...
STDERR_CUT = 8_000  # ... and of stderr

# What the operator sees per node (AWS's Status, refined by StatusDetails where AWS says more)
STATUSES = (
    "Pending",
    "InProgress",
    "Delayed",
    "Success",
    "Failed",
    "TimedOut",
    "Cancelling",
    "Cancelled",
    "Undeliverable",
    "Terminated",
)
TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated"})
# what makes `--run` exit 7
UNSUCCESSFUL = frozenset({"Failed", "TimedOut", "Undeliverable", "Terminated"})

_CONCURRENCY = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
_ERRORS = re.compile(r"^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$")


def parse_concurrency(text: str) -> str:
    """--max-concurrency: a number of nodes (1 or more) or a share of them (1%..100%)."""
    value = text.strip()
    if not _CONCURRENCY.match(value):
        raise UsageError(
            f"--max-concurrency {text!r} is not a number of nodes (1 or more) or a share (1%-100%)"
        )
    return value


def parse_errors(text: str) -> str:
    """--max-errors: how many failures (0 or more) or what share (0%..100%) before AWS stops."""
    value = text.strip()
    if not _ERRORS.match(value):
        raise UsageError(
            f"--max-errors {text!r} is not a number of failures (0 or more) or a share (0%-100%)"
        )
    return value


MAX_EXECUTION_TIMEOUT = 172_800  # the script documents' executionTimeout: 48 hours at most


def parse_timeout(text: str) -> int:
    """The execution timeout: `600`, `10m`, `2h`; AWS takes 1 second to 48 hours."""
    from sessiontui.core.durations import parse_duration

    seconds = parse_duration(text)
    if seconds > MAX_EXECUTION_TIMEOUT:
        raise UsageError(f"execution timeout {text} is over AWS's 48 hours")
    return seconds


def parse_parameters(items: Sequence[str]) -> dict[str, list[str]]:
    """--parameter K=V (repeatable; the same K again adds a value)."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--parameter {item!r} is not NAME=VALUE")
        out.setdefault(key.strip(), []).append(value)
    return out


def script_document(platform: str) -> str | None:
    """The script document for a node's platform; None where neither runs (unknown platform)."""
    for name, platforms in SCRIPT_DOCUMENTS.items():
        if platform in platforms:
            return name
    return None


def tag_targets(tags: Sequence[tuple[str, str]]) -> tuple[list[dict[str, Any]], str]:
    """SendCommand's Targets for `--tag K=V` terms, or why AWS could not be asked the same:
    AWS matches tags exactly, one value list per key, at most five keys."""
    if not tags:
        return [], "no tag asked for"
    keys = [key for key, _ in tags]
    if any(c in key + value for key, value in tags for c in "*?["):
        return [], "a wildcard in a tag, which Targets cannot say"
    if len(set(keys)) != len(keys):
        return [], "the same tag key twice"
    if len(keys) > MAX_TAG_TARGETS:
        return [], f"more than {MAX_TAG_TARGETS} tags"
    return [{"Key": f"tag:{key}", "Values": [value]} for key, value in tags], ""


def node_status(status: str, details: str = "") -> str:
    """One node's status from AWS's pair: StatusDetails names what Status folds away."""
    compact = details.replace(" ", "")
    if compact in ("Undeliverable", "Terminated"):
        return compact
    if compact in ("DeliveryTimedOut", "ExecutionTimedOut"):
        return "TimedOut"
    return status if status in STATUSES else (status or "Pending")


def first_line(text: str) -> str:
    """The first line that says something (blank lines before it skipped)."""
    for line in text.splitlines():
        if line.strip():
            return line.rstrip()
    return ""


@dataclass
class NodeRun:
    """One node's part of a run, as the grid, the JSON lines and the runs store keep it."""

    node_id: str
    name: str
    account: str
    region: str
    document: str = ""
    command_id: str = ""
    status: str = "Pending"
    exit_code: int | None = None
    started: datetime | None = None
    ended: datetime | None = None
    output: str = ""  # stdout as far as AWS gives it
    error: str = ""  # stderr as far as AWS gives it
    output_url: str = ""  # where the whole output went (S3), when configured
    log_group: str = ""  # the CloudWatch Logs group it also went to, when configured
    error_url: str = ""
    full: bool = (
        False  # output/error are whole (under the details' cut, or from GetCommandInvocation)
    )
    note: str = ""  # why sessiontui could not send it, when it could not

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, (self.ended - self.started).total_seconds())

    @property
    def output_cut(self) -> bool:
        return len(self.output) >= STDOUT_CUT

    @property
    def error_cut(self) -> bool:
        return len(self.error) >= STDERR_CUT

    @property
    def log_streams(self) -> str:
        """Where its output is in CloudWatch Logs (AWS names the streams COMMAND/NODE/STEP/...)."""
        if not self.log_group or not self.command_id:
            return ""
        return f"{self.log_group}, streams {self.command_id}/{self.node_id}/"

    @property
    def line(self) -> str:
        """What the grid shows of the output: its first line (stderr's when stdout is empty)."""
        return first_line(self.output) or first_line(self.error) or self.note

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.node_id,
            "name": self.name,
            "account": self.account,
            "region": self.region,
            "command_id": self.command_id,
            "document": self.document,
            "status": self.status,
            "exit_code": self.exit_code,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "output": self.output,
            "error": self.error,
            "output_cut": self.output_cut,
            "error_cut": self.error_cut,
            "output_url": self.output_url,
            "log_group": self.log_group,
            "error_url": self.error_url,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeRun:
        def text(key: str) -> str:
            value = data.get(key, "")
            return value if isinstance(value, str) else ""

        code = data.get("exit_code")
        return cls(
            node_id=text("id"),
            name=text("name"),
            account=text("account"),
            region=text("region"),
            document=text("document"),
            command_id=text("command_id"),
            status=text("status") or "Pending",
            exit_code=code if isinstance(code, int) else None,
            output=text("output"),
            error=text("error"),
            output_url=text("output_url"),
            log_group=text("log_group"),
            error_url=text("error_url"),
            full=True,
            note=text("note"),
        )


@dataclass(frozen=True)
class LeftOut:
    """A node the filter matched that the run leaves out, and why."""

    node_id: str
    name: str
    account: str
    region: str
    why: str


@dataclass
class Preview:
    """Who a run reaches: nodes per (account, region), and who is left out and why."""

    runs: list[NodeRun] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    # per (account, region) when the operator asked by tag: how it is sent, in words
    how: dict[tuple[str, str], str] = field(default_factory=dict)

    def groups(self) -> dict[tuple[str, str], int]:
        out: Counter[tuple[str, str]] = Counter((r.account or "-", r.region) for r in self.runs)
        return dict(sorted(out.items()))

    def lines(self) -> list[str]:
        """The preview in words: one line for the total, one per account and region."""
        n = len(self.runs)
        head = f"{n} node{'s' if n != 1 else ''}"
        lines = [head + (f", {len(self.left_out)} left out" if self.left_out else "")]
        for (account, region), count in self.groups().items():
            how = self.how.get((account, region))
            lines.append(f"  {count} in {account} {region}" + (f" ({how})" if how else ""))
        for out in self.left_out:
            lines.append(f"  left out {out.name or out.node_id} ({out.node_id}): {out.why}")
        return lines


def summary(runs: Iterable[NodeRun], seconds: float | None = None) -> str:
    """`12 nodes: 10 Success, 1 Failed, 1 Undeliverable (in 4s)`."""
    found = list(runs)
    counts = Counter(r.status for r in found)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    took = f" in {seconds:.0f}s" if seconds is not None else ""
    n = len(found)
    return f"{n} node{'s' if n != 1 else ''}: {', '.join(parts) or 'none'}{took}"


def exit_code(runs: Iterable[NodeRun]) -> int:
    """0 when every node succeeded; 7 when some failed, timed out or were undeliverable."""
    return int(ExitCode.RUN_FAILED if any(r.status in UNSUCCESSFUL for r in runs) else ExitCode.OK)
