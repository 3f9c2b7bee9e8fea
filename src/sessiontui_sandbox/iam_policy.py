"""IAM's evaluation of identity-based policies, as the sandbox authorises each call.

No maintained Python library evaluates policies with resources and conditions (moto's access
control ignores both), and a sandbox that allows what AWS refuses hides the bugs operators meet on
their first day. This follows IAM's documented logic for one account's identity-based policies
(no SCPs, boundaries or resource policies): an explicit Deny wins, then any Allow, else the
implicit deny.

Rules, from IAM's reference ("Policy evaluation logic", "IAM JSON policy elements: Condition
operators", "Policy variables"):
- Action and NotAction match case-insensitively, with `*` and `?`.
- Resource and NotResource match case-sensitively, with `*` and `?`, after policy variables are
  replaced; an element naming a variable the request does not carry matches nothing, unless the
  variable gives a default (`${aws:username, 'none'}`). `${*}`, `${?}` and `${$}` are literals.
- Condition: every operator of a statement, every key of an operator (ANDed); any value of a key
  (ORed), except the negated operators, where no value may match. A key the request lacks makes
  the operator false, the negated ones true, `...IfExists` true; `Null` tests presence.
  `ForAnyValue:` and `ForAllValues:` compare multivalued keys. Key names are case-insensitive.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from fnmatch import fnmatchcase
from typing import Any

ContextValue = str | Sequence[str]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One authorisation: an action on a resource ARN, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return [value] if isinstance(value, str) else list(value)
        return None


def evaluate(policies: Iterable[Mapping[str, Any] | str], request: Request) -> Decision:
    allowed = False
    for policy in policies:
        document = json.loads(policy) if isinstance(policy, str) else policy
        for statement in _statements(document):
            if not _applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def refusal(principal_arn: str, request: Request, decision: Decision) -> str:
    """The AccessDenied message as AWS words it today."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {request.action} action"
    )
    return (
        f"User: {principal_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {why}"
    )


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not any(_action_matches(p, request.action) for p in _listed(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_action_matches(p, request.action) for p in _listed(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _any_resource(_listed(statement["Resource"]), request):
            return False
    elif "NotResource" in statement:
        if _any_resource(_listed(statement["NotResource"]), request):
            return False
    else:
        return False
    return all(
        _condition(operator, keys, request)
        for operator, keys in (statement.get("Condition") or {}).items()
    )


def _action_matches(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), _glob(pattern.lower()))


def _any_resource(patterns: list[str], request: Request) -> bool:
    for pattern in patterns:
        resolved = _substitute(pattern, request, glob=True)
        if resolved is not None and _wildcard(resolved, request.resource):
            return True
    return False


# -- policy variables --------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERALS = {"*": "\x00star\x00", "?": "\x00mark\x00", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")


def _substitute(text: str, request: Request, glob: bool) -> str | None:
    """Replace `${key}`; None when a key is missing and has no default (the element then matches
    nothing). The literal forms `${*}` and `${?}` stay literal even in a pattern."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        inner = match.group(1)
        if inner in _LITERALS:
            return _LITERALS[inner] if glob else inner
        default = _DEFAULT.match(inner)
        key, fallback = (default.group(1), default.group(2)) if default else (inner.strip(), None)
        values = request.value(key)
        if values and len(values) == 1:
            return values[0]
        if fallback is not None:
            return fallback
        missing = True
        return ""

    resolved = _VARIABLE.sub(replace, text)
    return None if missing else resolved


def _glob(pattern: str) -> str:
    """IAM's `*` and `?` as fnmatch's, with fnmatch's own `[` made literal."""
    return pattern.replace("[", "[[]")


def _wildcard(pattern: str, value: str) -> bool:
    glob = _glob(pattern).replace(_LITERALS["*"], "[*]").replace(_LITERALS["?"], "[?]")
    return fnmatchcase(value, glob)


# -- conditions --------------------------------------------------------------------------------


def _condition(operator: str, keys: Mapping[str, Any], request: Request) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    for key, expected in keys.items():
        wanted = _listed(expected)
        present = request.value(key)
        if base == "Null":
            is_null = present is None
            if not any((w.lower() == "true") == is_null for w in wanted):
                return False
            continue
        if present is None:
            if if_exists or qualifier == "ForAllValues" or _negated(base):
                continue
            return False
        if not _compare(base, qualifier, present, wanted, request):
            return False
    return True


def _negated(base: str) -> bool:
    return "Not" in base


def _compare(
    base: str, qualifier: str, present: list[str], wanted: list[str], request: Request
) -> bool:
    positive = base.replace("Not", "", 1) if _negated(base) else base
    test = _TESTS.get(positive)
    if test is None:
        return False  # an operator IAM does not know refuses the statement

    def one(value: str) -> bool:
        hits = (_resolve(w, request) for w in wanted)
        return any(h is not None and test(value, h) for h in hits)

    # a single-valued key is a list of one here, so plain operators and ForAnyValue agree
    matched = (
        all(one(v) for v in present) if qualifier == "ForAllValues" else any(map(one, present))
    )
    return not matched if _negated(base) else matched


def _resolve(value: str, request: Request) -> str | None:
    return _substitute(value, request, glob=False)


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _safe(test: Any) -> Any:
    def run(value: str, wanted: str) -> bool:
        try:
            return bool(test(value, wanted))
        except (ValueError, TypeError):
            return False  # a value of the wrong kind matches nothing, as IAM treats it

    return run


def _arn_like(value: str, pattern: str) -> bool:
    got, want = value.split(":", 5), pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        return False
    return all(_wildcard(w, g) for g, w in zip(got, want, strict=True))


_TESTS: dict[str, Any] = {
    "StringEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringLike": lambda v, w: _wildcard(w, v),
    "NumericEquals": _safe(lambda v, w: _number(v) == _number(w)),
    "NumericLessThan": _safe(lambda v, w: _number(v) < _number(w)),
    "NumericLessThanEquals": _safe(lambda v, w: _number(v) <= _number(w)),
    "NumericGreaterThan": _safe(lambda v, w: _number(v) > _number(w)),
    "NumericGreaterThanEquals": _safe(lambda v, w: _number(v) >= _number(w)),
    "DateEquals": _safe(lambda v, w: _date(v) == _date(w)),
    "DateLessThan": _safe(lambda v, w: _date(v) < _date(w)),
    "DateLessThanEquals": _safe(lambda v, w: _date(v) <= _date(w)),
    "DateGreaterThan": _safe(lambda v, w: _date(v) > _date(w)),
    "DateGreaterThanEquals": _safe(lambda v, w: _date(v) >= _date(w)),
    "Bool": lambda v, w: v.lower() == w.lower(),
    "BinaryEquals": lambda v, w: v == w,
    "IpAddress": _safe(
        lambda v, w: ipaddress.ip_address(v) in ipaddress.ip_network(w, strict=False)
    ),
    "ArnEquals": _safe(_arn_like),
    "ArnLike": _safe(_arn_like),
}
