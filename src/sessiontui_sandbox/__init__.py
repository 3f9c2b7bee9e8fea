"""The embedded local AWS for `--demo` and the tests.

Importing this package is cheap: moto loads only when `Sandbox` is first touched, because the
stand-in plugin and `--help` import from here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessiontui_sandbox.demo import (
    DEMO_ACCOUNT,
    DEMO_MFA_SERIAL,
    DEMO_REGIONS,
    DEMO_ROLES,
    DEMO_TOTP_ENV,
    DEMO_TOTP_SECRET,
)

if TYPE_CHECKING:
    from sessiontui_sandbox.server import Sandbox, SandboxError

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_MFA_SERIAL",
    "DEMO_REGIONS",
    "DEMO_ROLES",
    "DEMO_TOTP_ENV",
    "DEMO_TOTP_SECRET",
    "Sandbox",
    "SandboxError",
]


def __getattr__(name: str) -> Any:
    if name in ("Sandbox", "SandboxError"):
        from sessiontui_sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
