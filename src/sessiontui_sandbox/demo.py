"""Demo identity: account, operator, MFA device and JIT roles. Light on purpose.

This module imports nothing heavy so the stand-in plugin and `--help` can read these constants
without paying for moto.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_ACCOUNT = "123456789012"
DEMO_REGIONS = ("us-east-1", "eu-west-1")
DEMO_USER = "operator"
DEMO_USER_ARN = f"arn:aws:iam::{DEMO_ACCOUNT}:user/{DEMO_USER}"
DEMO_USER_ID = "AIDASANDBOXOPERATOR1"
DEMO_MFA_SERIAL = f"arn:aws:iam::{DEMO_ACCOUNT}:mfa/{DEMO_USER}"
# Shown by the demo on purpose: it only unlocks the local sandbox.
DEMO_TOTP_SECRET = "SESSIONTUIDEMOSECRETJBSWY3DPEHPK"
DEMO_TOTP_ENV = "SESSIONTUI_DEMO_TOTP"
DEMO_ACCESS_KEY_ID = "AKIASANDBOXOPERATOR1"  # its secret is drawn at each start (state.py)

# What the preferences document says; sessions are cut at this many minutes.
MAX_SESSION_MINUTES = 60
IDLE_SESSION_MINUTES = 20


@dataclass(frozen=True)
class DemoRole:
    name: str
    max_session_duration: int
    scope: dict[str, str] = field(default_factory=dict)
    reason_required: bool = False
    default_duration: str = "1h"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{DEMO_ACCOUNT}:role/{self.name}"


DEMO_ROLES: tuple[DemoRole, ...] = (
    DemoRole("ProdOps", 4 * 3600, {"project": "Production"}, True, "1h"),
    DemoRole("StagingDev", 3600, {"project": "Staging"}, False, "1h"),
    DemoRole("FleetAdmin", 12 * 3600, {}, False, "2h"),
)
DEMO_ROLES_BY_ARN = {r.arn: r for r in DEMO_ROLES}
