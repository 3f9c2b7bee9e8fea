"""A JIT role assumed from Identity Center credentials (role chaining): the sandbox's
ProductionDeploy trusts only the ProductionAccess permission set's reserved role (account root +
aws:PrincipalArn ArnLike, as AWS writes it) and refuses a chained DurationSeconds over an hour;
the CLI (a subprocess) and the TUI assume it from the `Production-ProductionAccess` profile,
cutting its 2h default to 1h and saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cli_support import run
from sandbox_support import client
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.chained_roles import CHAINED_ROLES_BY_ARN
from sso_support import role_keys, sign_in
from test_sso_access import PRODUCTION, aws_cli_login, home  # noqa: F401
from test_ui_identity_center import app_services  # noqa: F401

ROLE_ARN = f"arn:aws:iam::{PRODUCTION}:role/ProductionDeploy"


def _assume(sb: Sandbox, keys: dict[str, Any], seconds: int) -> dict[str, Any]:
    reply: dict[str, Any] = client(sb, "sts", creds=keys).assume_role(
        RoleArn=ROLE_ARN, RoleSessionName="operator", DurationSeconds=seconds
    )
    return reply


def _refused(sb: Sandbox, keys: dict[str, Any], seconds: int) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        _assume(sb, keys, seconds)
    error: Any = info.value.response["Error"]
    return error["Code"], error["Message"]


def test_the_sandbox_trusts_only_the_permission_set_s_role_and_caps_chaining(
    sandbox: Sandbox,
) -> None:
    assert ROLE_ARN in CHAINED_ROLES_BY_ARN
    _, token = sign_in(sandbox)
    production = role_keys(sandbox, token["accessToken"], PRODUCTION, "ProductionAccess")
    answer = _assume(sandbox, production, 3600)
    creds = answer["Credentials"]
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{PRODUCTION}:assumed-role/ProductionDeploy/operator"
    )
    who = client(sandbox, "sts", creds=creds).get_caller_identity()
    assert who["Account"] == PRODUCTION and "assumed-role/ProductionDeploy/" in who["Arn"]
    # chained: over an hour is refused even though the role's maximum is 4h
    code, message = _refused(sandbox, production, 7200)
    assert code == "ValidationError"
    assert message == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining."
    )
    # another permission set of the same account, or another account's, is not trusted
    read_only = role_keys(sandbox, token["accessToken"], PRODUCTION, "ReadOnly")
    staging = role_keys(sandbox, token["accessToken"], "345678901234", "DeveloperAccess")
    for keys in (read_only, staging):
        code, message = _refused(sandbox, keys, 3600)
        assert code == "AccessDenied" and "not authorized to perform: sts:AssumeRole" in message
    # the operator's own IAM user is not trusted either (and is not chaining)
    code, _ = _refused(sandbox, {}, 3600)
    assert code == "AccessDenied"


def test_the_cli_lists_with_a_role_chained_from_identity_center(
    sandbox: Sandbox,
    home: Path,  # noqa: F811
) -> None:
    aws_cli_login(sandbox, home)
    out = run(sandbox, home, "--list", "--json", "--role", "ProductionDeploy", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1h instead of its 2h" in out.stderr and "caps role chaining at 1h" in out.stderr
    assert "Production-ProductionAccess" in out.stderr
    nodes = json.loads(out.stdout)
    names = {n["name"] for n in nodes}
    assert "prod-api-01" in names and not any(n.startswith("stg-") for n in names)
    assert {n["account_id"] for n in nodes} == {PRODUCTION}
    # asked for more than the chaining cap: refused before AWS is asked, with how to fix it
    out = run(sandbox, home, "--list", "--json", "--role", "ProductionDeploy", "--duration", "2h")
    assert out.returncode == 3, out.stderr
    assert "over 1h, the cap for a role assumed from role credentials (role chaining)" in (
        out.stderr
    )
    assert "Traceback" not in out.stderr


async def test_the_tui_takes_a_chained_role_for_an_hour_and_says_why(
    sandbox: Sandbox,
    app_services: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.screens.roles import RolePickerScreen
    from test_ui_access import wait_for
    from test_ui_identity_center import _signed_in
    from test_ui_support import settle

    # botocore fixed its token folder from HOME when it was imported (a new process reads the
    # test's HOME): point it where this test's sign-in writes, as a process started now would
    folder = os.path.expanduser(os.path.join("~", ".aws", "sso", "cache"))
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", folder)
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", folder)
    _signed_in(sandbox)
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RolePickerScreen))
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        await pilot.press(*"deploy")
        await pilot.pause()
        assert [line.offer.name for line in picker.shown] == ["ProductionDeploy"]
        await pilot.press("enter")
        box = picker.query_one("#duration")
        # the probe learns (GetCallerIdentity with the permission set's credentials) it chains
        await wait_for(pilot, lambda: picker.chained.get("ProductionDeploy") is True)
        await pilot.pause()
        assert box.value == "1h"  # type: ignore[attr-defined]
        hint = str(picker.query_one("#chaining").render())
        assert "1h instead of its 2h" in hint and "caps role chaining at 1h" in hint, hint
        await pilot.press("enter")  # the demo's MFA code fills in by itself
        await wait_for(
            pilot,
            lambda: app.access.active is not None and app.access.active.name == "ProductionDeploy",
            timeout=30,
        )
        active = app.access.active
        assert active is not None
        assert active.access.credentials.role_arn.startswith(ROLE_ARN)
        header = app.main_screen.header.render().plain
        assert "ProductionDeploy 0:59:" in header or "ProductionDeploy 1:00:00" in header, header
