"""The `--demo` start: the one product module that reaches the embedded sandbox.

The sandbox (a local AWS for the demo and the tests) ships beside the product, in the `sandbox`
extra. Everything the product says or does about it goes through here: starting it and pointing
this process at it, the demo's MFA secret, and the approver's command lines it prints.
"""

from __future__ import annotations

import os
from typing import Protocol

from sessiontui.core.errors import UsageError


class RunningSandbox(Protocol):
    """What the product reads of a started sandbox (sessiontui_sandbox.Sandbox)."""

    @property
    def endpoint_url(self) -> str: ...

    def stop(self) -> None: ...


def start(plugin: str | None = None) -> RunningSandbox:
    """Start the embedded sandbox and point this process at it (and only at it); sessions go
    through the plugin `--plugin` names (locate.demo_plugin says which by default)."""
    from sessiontui.plugin.locate import ENV_OVERRIDE, demo_plugin

    check_sandbox_extra()
    from sessiontui_sandbox import Sandbox

    operator_plugin = os.environ.get(ENV_OVERRIDE)
    sb = Sandbox().start()
    try:
        chosen = demo_plugin(plugin, sb.plugin_path, operator_plugin)
    except BaseException:
        sb.stop()
        raise
    sb.announce()  # before XDG_STATE_HOME moves: the approver's terminal reads the real one
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(sb.env())
    os.environ[ENV_OVERRIDE] = str(chosen)
    # the demo's caches and state live and die with its sandbox: they mean nothing to another one
    assert sb.tmpdir is not None  # set by start()
    os.environ["XDG_CACHE_HOME"] = str(sb.tmpdir / "cache")
    os.environ["XDG_STATE_HOME"] = str(sb.tmpdir / "state")
    return sb


# what the `sandbox` extra installs that --demo imports (moto[server] brings flask and werkzeug)
SANDBOX_MODULES = ("moto", "moto.server", "websockets", "flask", "werkzeug")
SANDBOX_INSTALL = "pip install 'sessiontui[sandbox]'"


def check_sandbox_extra() -> None:
    """--demo needs the `sandbox` extra, which a plain `pip install sessiontui` leaves out:
    say what to install (exit 2) before starting anything, not ModuleNotFoundError."""
    import importlib

    for module in SANDBOX_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = (exc.name or module).split(".")[0]
            raise UsageError(
                f"--demo needs the sandbox extra, which is not installed (no module {missing})",
                f"install it: {SANDBOX_INSTALL} (with pipx: pipx install --force "
                "'sessiontui[sandbox]')",
            ) from exc


def totp_secret() -> str | None:
    """The demo's MFA seed, shown on its banner (the sandbox's own, not a secret of anyone's)."""
    try:
        from sessiontui_sandbox import DEMO_TOTP_SECRET
    except ImportError:
        return None
    return str(DEMO_TOTP_SECRET)


def approve_command(request_id: str, endpoint_url: str | None = None) -> str:
    """The command that approves a just-in-time request in this demo's sandbox."""
    from sessiontui_sandbox.approver import approve_command as command

    return command(request_id, endpoint_url)


def help_text(endpoint_url: str) -> str:
    """This demo's sandbox, named in full: another demo may have replaced the per-user endpoint
    file the approver falls back to."""
    from sessiontui_sandbox.approver import sandbox_command

    return (
        f"Demo sandbox on {endpoint_url}. Access requests from another terminal: "
        f"{sandbox_command('requests', endpoint_url=endpoint_url)}, and approve, reject or "
        f"revoke oi-… the same way. Identity Center sign-in codes: {endpoint_url}/_sandbox/device"
    )
