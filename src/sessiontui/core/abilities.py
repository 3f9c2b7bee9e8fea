"""What an access may do with Session Manager, and the doctor's report: pure facts and words.

Each ability names the IAM actions it needs and the resources IAM checks them against, so the
same table drives `iam:SimulatePrincipalPolicy`, the harmless probes, the report's "grant ..."
advice and the README's minimal policies. No I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

# the documents StartSession is authorised against besides the node, per kind of session
FORWARD_DOCUMENT = "AWS-StartPortForwardingSession"
FORWARD_REMOTE_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
SSH_DOCUMENT = "AWS-StartSSHSession"
# AWS's oldest plugin release it still supports (Session Manager's plugin release notes)
PLUGIN_MINIMUM = (1, 2, 764, 0)
PLUGIN_UPDATE_URL = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "session-manager-working-with-install-plugin.html"
)


# A role's (an Identity Center user's) sessions are named after its session name, not after
# aws:username (which roles lack) nor aws:userid (ROLEID:name): AWS's own answer is the session's
# tag that holds the starter's aws:userid
OWN_SESSIONS = (
    "arn:aws:ssm:*:*:session/* where ssm:resourceTag/aws:ssmmessages:session-id is ${aws:userid}"
)


# the kind of session each document opens: (the ability's key, what the operator calls it)
SESSION_KINDS = {
    FORWARD_DOCUMENT: ("forward", "port forwards"),
    FORWARD_REMOTE_DOCUMENT: ("forward", "port forwards to hosts behind nodes"),
    SSH_DOCUMENT: ("ssh", "SSH sessions"),
}
_DOCUMENT_IN_REFUSAL = re.compile(r"on resource: arn:aws:ssm:[^:\s]*:[^:\s]*:document/([\w.-]+)")


def refused_document(message: str) -> str | None:
    """The document an AccessDenied for StartSession names as its resource, or None when the
    refusal is about the node (or says nothing)."""
    found = _DOCUMENT_IN_REFUSAL.search(message)
    return found.group(1) if found else None


def session_kind(document: str) -> tuple[str, str]:
    return SESSION_KINDS.get(document, (document, f"sessions of the document {document}"))


def kind_refusal(document: str) -> tuple[str, str]:
    """(the sentence, the advice) for StartSession refused on `document`: the node itself was
    allowed, so a shell opens where this kind does not."""
    _, what = session_kind(document)
    return (
        f"this access may open shells but not {what} "
        f"(ssm:StartSession is not allowed on document/{document})",
        f"ask for ssm:StartSession on arn:aws:ssm:*::document/{document}, or use another access "
        "that has it; sessiontui --doctor lists what each access may do",
    )


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "warn": "!", "fail": "✗"}[self.value]


@dataclass(frozen=True)
class Ability:
    key: str
    title: str  # "port forward"
    actions: tuple[str, ...]  # what to grant, as the report's advice says it
    resource: str  # the resource the grant names (for the advice and the README)
    cost: str  # what the operator cannot do without it


ABILITIES: tuple[Ability, ...] = (
    Ability(
        "list",
        "list nodes",
        ("ssm:DescribeInstanceProperties", "ec2:DescribeInstances"),
        "*",
        "the fleet stays empty",
    ),
    Ability(
        "tags",
        "read hybrid tags",
        ("tag:GetResources",),
        "*",
        "on-premises (mi-) nodes show no tags: tag filters, facets and tag scopes miss them",
    ),
    Ability(
        "shell",
        "shell",
        ("ssm:StartSession",),
        "arn:aws:ec2:*:*:instance/*",
        "no shell opens on any node",
    ),
    Ability(
        "forward",
        "port forward",
        ("ssm:StartSession",),
        f"arn:aws:ssm:*::document/{FORWARD_DOCUMENT}",
        "no port forward (f, --forward, databases) opens",
    ),
    Ability(
        "ssh",
        "SSH",
        ("ssm:StartSession",),
        f"arn:aws:ssm:*::document/{SSH_DOCUMENT}",
        "ssh, scp and --ssh-proxy are refused",
    ),
    Ability(
        "describe",
        "describe own sessions",
        ("ssm:DescribeSessions",),
        "*",
        "the S panel and --sessions cannot list your sessions, nor check one left open",
    ),
    Ability(
        "end",
        "end own sessions",
        ("ssm:TerminateSession",),
        OWN_SESSIONS,
        "sessions stay open on AWS until their idle timeout or max duration after you leave",
    ),
    Ability(
        "resume",
        "resume",
        ("ssm:ResumeSession",),
        OWN_SESSIONS,
        "a forward whose connection drops starts a new session instead of resuming its own",
    ),
    Ability(
        "node-access",
        "request node access",
        ("ssm:StartAccessRequest", "ssm:GetAccessToken"),
        "*",
        "just-in-time access requests (a, --request-access) are refused",
    ),
)
BY_KEY = {a.key: a for a in ABILITIES}


def statement(ability: Ability) -> str:
    """The IAM policy statement that grants the ability, as one line of JSON to add."""
    found: dict[str, object] = {"Effect": "Allow"}
    found["Action"] = ability.actions[0] if len(ability.actions) == 1 else list(ability.actions)
    if ability.resource == OWN_SESSIONS:
        found["Resource"] = "arn:aws:ssm:*:*:session/*"
        found["Condition"] = {
            "StringEquals": {"ssm:resourceTag/aws:ssmmessages:session-id": "${aws:userid}"}
        }
    else:
        found["Resource"] = ability.resource
    return json.dumps(found)


def grant_text(ability: Ability) -> str:
    return (
        f"grant {', '.join(ability.actions)} on {ability.resource}: add the statement "
        f"{statement(ability)}"
    )


# what the operator called each kind of session StartSession opened or refused, by document
_SHELL_DOCUMENTS = {"", "SSM-SessionManagerRunShell"}


def learnt_findings(events: Iterable[Mapping[str, object]], role: str) -> dict[str, Finding]:
    """What the audit log says this access was allowed or refused when it opened sessions:
    the latest answer for each kind (shell, forward, ssh). No side effects, no AWS call."""
    found: dict[str, Finding] = {}
    for event in events:
        if event.get("role") != role or event.get("event") not in (
            "session_started",
            "session_refused",
        ):
            continue
        document = str(event.get("document") or "")
        key = "shell" if document in _SHELL_DOCUMENTS else session_kind(document)[0]
        if key not in ("shell", "forward", "ssh"):
            continue
        when = str(event.get("ts") or "")
        if event["event"] == "session_started":
            found[key] = Finding(key, True, "learnt", f"one opened at {when}")
        else:
            found[key] = Finding(key, False, "learnt", f"AWS refused one at {when}: {document}")
    return found


@dataclass(frozen=True)
class Check:
    """One line of the report: a mark and one sentence, and what to do when it is not ✓."""

    status: Status
    area: str  # "config", "plugin", "access Production/ProductionPermissionSet"
    text: str
    fix: str = ""
    ability: str = ""  # the ability's key, for an access's abilities

    def line(self) -> str:
        tail = f"; {self.fix}" if self.fix and self.status is not Status.OK else ""
        return f"{self.status.mark} {self.area}: {self.text}{tail}"

    def to_json(self) -> dict[str, str]:
        out = {"status": self.status.value, "mark": self.status.mark, "area": self.area}
        out["text"] = self.text
        if self.fix:
            out["fix"] = self.fix
        if self.ability:
            out["ability"] = self.ability
        return out


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> None:
        self.checks.append(check)

    @property
    def ok(self) -> bool:
        return all(c.status is Status.OK for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class Finding:
    """What was learnt about one ability of one access: allowed, refused or not known, and how."""

    ability: str
    allowed: bool | None  # None: could not be found out without side effects
    how: str  # "simulated", "probed", "learnt": where the answer came from
    detail: str = ""  # e.g. the refused resource, or the nodes a shell is allowed on


def ability_check(area: str, finding: Finding) -> Check:
    ability = BY_KEY[finding.ability]
    detail = f" ({finding.detail})" if finding.detail else ""
    if finding.allowed:
        return Check(Status.OK, area, f"{ability.title}: allowed{detail}", ability=ability.key)
    if finding.allowed is None:
        fix = "grant iam:SimulatePrincipalPolicy on this role for --doctor to tell"
        if ability.key in ("shell", "forward", "ssh"):
            # nothing harmless tells: say what to add should the first try be refused
            fix = f"if AWS refuses the first one, add the statement {statement(ability)}; or {fix}"
        return Check(
            Status.WARN, area, f"{ability.title}: not known{detail}", fix, ability=ability.key
        )
    return Check(
        Status.FAIL,
        area,
        f"{ability.title}: not allowed, so {ability.cost}{detail}",
        grant_text(ability),
        ability=ability.key,
    )


def version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.strip().split(".") if p.isdigit()]
    return tuple(parts + [0] * (4 - len(parts)))


def plugin_check(path: str, version: str) -> Check:
    if version_tuple(version) < PLUGIN_MINIMUM:
        minimum = ".".join(str(p) for p in PLUGIN_MINIMUM)
        return Check(
            Status.WARN,
            "plugin",
            f"session-manager-plugin {version} at {path} is older than {minimum}, "
            "the oldest release AWS supports",
            f"update it: {PLUGIN_UPDATE_URL}",
        )
    return Check(Status.OK, "plugin", f"session-manager-plugin {version} at {path}")


# how far the local clock may be from AWS's before SigV4 refuses requests (AWS allows 5 minutes)
SIGV4_SKEW = 300.0
# beyond this, a TOTP code typed at the edge of its 30 s window may already be stale for AWS
MFA_SKEW = 15.0


def clock_check(skew: float) -> Check:
    """`skew`: local clock minus AWS's, in seconds."""
    way = "ahead of" if skew > 0 else "behind"
    said = f"this machine's clock is {abs(skew):.0f}s {way} AWS's"
    if abs(skew) >= SIGV4_SKEW:
        return Check(
            Status.FAIL,
            "clock",
            f"{said}: AWS refuses signed requests beyond 5 minutes",
            "set the clock (enable NTP: timedatectl set-ntp true)",
        )
    if abs(skew) >= MFA_SKEW:
        return Check(
            Status.WARN,
            "clock",
            f"{said}: MFA codes near the end of their window may be refused",
            "enable NTP: timedatectl set-ntp true",
        )
    return Check(Status.OK, "clock", f"{said} (within {MFA_SKEW:.0f}s)")
