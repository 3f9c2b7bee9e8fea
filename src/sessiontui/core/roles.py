"""A just-in-time role the operator can take: from the config or from ~/.aws/config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", re.ASCII)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    arn: str
    duration: int = 3600  # default seconds; --duration overrides
    max_duration: int | None = None  # the role's MaxSessionDuration when known
    scope: Mapping[str, str] = field(default_factory=dict)
    source_profile: str | None = None  # profile whose credentials assume the role
    reason_required: bool = False
    mfa_serial: str | None = None  # overrides [mfa] serial
    origin: str = "config"  # "config" or "aws-profile:NAME"
    external_id: str | None = None
