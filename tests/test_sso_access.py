"""Identity Center roles through the real entry points against the sandbox: a token left by the AWS
CLI lists an account's fleet without asking anything, two permission sets make one fleet across
accounts, a shell in the second account uses that account's credentials, the permission set's
scope refuses, unknown names and unusable caches get words, the token is refreshed and the
access's end is the Identity Center session's when the sign-in cannot be renewed."""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.tokens import _sso_json_dumps
from botocore.utils import JSONFileCache, SSOTokenLoader

from cli_support import cli_env, run
from sessiontui.access import Prompts
from sessiontui.access.identity_center import ENDS_SESSION, IdentityCenterSource
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws_profiles import find_sso_session
from sessiontui.core.access import ENDS_CREDENTIALS
from sessiontui.core.clock import SYSTEM_CLOCK
from sessiontui_sandbox import Sandbox

PRODUCTION, STAGING = "210987654321", "345678901234"


def aws_cli_login(sandbox: Sandbox, home: Path, *, scopes: bool = True) -> dict[str, Any]:
    """What `aws sso login --sso-session sandbox` leaves behind, made with botocore alone: the
    device flow (approved by the sandbox at once) and the cache file written by its loader."""
    sandbox.sso_auto_approve = True
    oidc = boto3.client(
        "sso-oidc",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        config=Config(signature_version=UNSIGNED),
    )
    kwargs: dict[str, Any] = {"clientName": "botocore-client-sandbox", "clientType": "public"}
    if scopes:
        kwargs["scopes"] = ["sso:account:access"]
    client = oidc.register_client(**kwargs)
    device = oidc.start_device_authorization(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        startUrl=sandbox.sso_start_url,
    )
    token = oidc.create_token(
        grantType="urn:ietf:params:oauth:grant-type:device_code",
        deviceCode=device["deviceCode"],
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
    )
    sandbox.sso_auto_approve = False
    now = datetime.now(UTC) + timedelta(seconds=sandbox.clock_offset)
    record: dict[str, Any] = {
        "startUrl": sandbox.sso_start_url,
        "region": "us-east-1",
        "accessToken": token["accessToken"],
        "expiresAt": now + timedelta(seconds=token["expiresIn"]),
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "registrationExpiresAt": datetime.fromtimestamp(client["clientSecretExpiresAt"], UTC),
    }
    if "refreshToken" in token:
        record["refreshToken"] = token["refreshToken"]
    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    loader = SSOTokenLoader(cache=JSONFileCache(str(folder), dumps_func=_sso_json_dumps))
    loader.save_token(sandbox.sso_start_url, record, session_name="sandbox")
    return record


@pytest.fixture
def home(sandbox: Sandbox, tmp_path: Path) -> Any:
    sandbox.clear_faults()
    sandbox.reset_calls()
    path = tmp_path / "home"
    path.mkdir()
    yield path
    sandbox.clear_faults()
    sandbox.sso_auto_approve = False
    sandbox.sso_access_token_seconds = 8 * 3600
    sandbox.sso_session_seconds = 8 * 3600


def _list(sandbox: Sandbox, home: Path, *roles: str) -> Any:
    args = ["--list", "--json"]
    for role in roles:
        args += ["--role", role]
    return run(sandbox, home, *args)


def test_token_left_by_the_aws_cli_lists_that_account_without_asking(
    sandbox: Sandbox, home: Path
) -> None:
    aws_cli_login(sandbox, home)
    sandbox.reset_calls()
    out = _list(sandbox, home, "Production/ProductionAccess")
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    assert nodes and {n["account_id"] for n in nodes} == {PRODUCTION}
    assert {n["account_name"] for n in nodes} == {"Production"}
    assert {"prod-api-01", "prod-api-eu-01"} <= {n["name"] for n in nodes}
    calls = sandbox.calls
    assert calls[("sso", "GetRoleCredentials")] == 1
    for asked in ("RegisterClient", "StartDeviceAuthorization", "CreateToken"):
        assert calls[("sso-oidc", asked)] == 0, asked
    # by account id too, and the listing is cached: no second ListAccounts
    out = _list(sandbox, home, f"{PRODUCTION}/ProductionAccess")
    assert out.returncode == 0, out.stderr
    assert sandbox.calls[("sso", "ListAccounts")] == 1


def test_two_permission_sets_make_one_fleet(sandbox: Sandbox, home: Path) -> None:
    aws_cli_login(sandbox, home)
    out = _list(sandbox, home, "Production/ProductionAccess", "Staging/DeveloperAccess")
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    by_account = {n["account_name"] for n in nodes}
    assert by_account == {"Production", "Staging"}
    staging = [n for n in nodes if n["account_id"] == STAGING]
    assert {"staging-api-01", "staging-db-01"} <= {n["name"] for n in staging}
    table = run(
        sandbox, home, "--list", "--role", "Production/ProductionAccess",
        "--role", "Staging/DeveloperAccess", "--filter", "account:Staging",
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "staging-api-01" in table.stdout and "prod-api-01" not in table.stdout


def test_shell_in_the_second_account_uses_its_credentials(sandbox: Sandbox, home: Path) -> None:
    aws_cli_login(sandbox, home)
    child = pexpect.spawn(
        sys.executable,
        [
            "-m", "sessiontui", "--connect", "staging-api-01",
            "--role", "Production/ProductionAccess", "--role", "Staging/DeveloperAccess",
        ],
        env=cli_env(sandbox, home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )  # fmt: skip
    child.expect(r"\$ ")
    child.sendline("hostname")
    child.expect("staging-api-01")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    record = [r for r in sandbox.state.sessions.values() if r.node_name == "staging-api-01"][-1]
    assert record.owner.startswith(
        f"arn:aws:sts::{STAGING}:assumed-role/AWSReservedSSO_DeveloperAccess_"
    )


def test_outside_the_permission_set_s_scope_is_refused(sandbox: Sandbox, home: Path) -> None:
    aws_cli_login(sandbox, home)
    out = run(
        sandbox, home, "--connect", "prod-analytics-01", "--role", "Production/ProductionAccess"
    )
    assert out.returncode == 3, out.stderr
    assert "Traceback" not in out.stderr
    assert "denied" in out.stderr.lower() or "not authorized" in out.stderr.lower()


def test_unknown_permission_set_lists_the_known_ones(sandbox: Sandbox, home: Path) -> None:
    aws_cli_login(sandbox, home)
    out = _list(sandbox, home, "Nope/Nothing")
    assert out.returncode == 2
    assert "no Identity Center permission set 'Nope/Nothing'" in out.stderr
    assert "Production/ProductionAccess" in out.stderr and "Staging/DeveloperAccess" in out.stderr
    assert "Traceback" not in out.stderr


def test_not_signed_in_and_corrupt_cache_say_how_to_sign_in(sandbox: Sandbox, home: Path) -> None:
    out = _list(sandbox, home, "Production/ProductionAccess")
    assert out.returncode == 3, out.stderr
    assert "not signed in" in out.stderr and "--sso-login sandbox" in out.stderr
    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True)
    path = folder / f"{hashlib.sha1(b'sandbox').hexdigest()}.json"
    path.write_text("{garbage")
    out = _list(sandbox, home, "Production/ProductionAccess")
    assert out.returncode == 3
    assert "is unreadable" in out.stderr and "Traceback" not in out.stderr
    assert path.read_text() == "{garbage"
    path.write_text(json.dumps({"startUrl": "https://elsewhere.awsapps.com/start",
                                "accessToken": "x", "expiresAt": "2099-01-01T00:00:00Z"}))  # fmt: skip
    out = _list(sandbox, home, "Production/ProductionAccess")
    assert out.returncode == 3
    assert "for another start URL" in out.stderr


def test_token_near_its_end_is_refreshed_for_both_tools(sandbox: Sandbox, home: Path) -> None:
    sandbox.sso_access_token_seconds = 300  # inside the 15-minute window at once
    first = aws_cli_login(sandbox, home)
    out = _list(sandbox, home, "Staging/DeveloperAccess")
    assert out.returncode == 0, out.stderr
    assert sandbox.calls[("sso-oidc", "CreateToken")] == 2  # the sign-in, and our refresh
    path = home / ".aws/sso/cache" / f"{hashlib.sha1(b'sandbox').hexdigest()}.json"
    saved = json.loads(path.read_text())
    assert saved["accessToken"] != first["accessToken"]
    assert saved["refreshToken"] and saved["clientId"] == first["clientId"]


def test_the_access_ends_with_a_sign_in_that_cannot_be_renewed(
    sandbox: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Legacy sign-ins (no scopes) get no refresh token: the access ends with the token, and
    says why; a renewable sign-in ends with the credentials (the permission set's hour)."""
    for key, value in cli_env(sandbox, home).items():
        monkeypatch.setenv(key, value)
    session = find_sso_session("sandbox")
    sandbox.sso_access_token_seconds = 1800
    aws_cli_login(sandbox, home, scopes=False)
    source = IdentityCenterSource(session, ClientFactory(), SYSTEM_CLOCK)
    offer = source.find("Production/ProductionAccess")
    assert offer is not None and offer.fixed_duration and offer.account_name == "Production"
    access = source.obtain(offer, None, Prompts())
    assert access.ends_because == ENDS_SESSION
    assert access.ends_at is not None and access.credentials.expiration is not None
    assert access.ends_at < access.credentials.expiration
    assert source.cached(offer) is not None  # held: a second run asks nothing
    aws_cli_login(sandbox, home, scopes=True)
    access = source.obtain(offer, None, Prompts())
    assert access.ends_because == ENDS_CREDENTIALS
    assert access.ends_at == access.credentials.expiration
    left = (access.ends_at - datetime.now(UTC)).total_seconds() - sandbox.clock_offset
    assert 3500 < left <= 3600  # ProductionAccess lasts one hour


PREPARE = """
import sys
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.identity import IdentityService
from sessiontui.config import load_config
from sessiontui.core.roles import RoleSpec

role = RoleSpec("ViaSSO", "arn:aws:iam::123456789012:role/FleetAdmin", 7200,
                source_profile="SharedServices-AdminAccess")
config = load_config()
service = IdentityService.from_config(config, lambda p: ClientFactory(profile=p), region="us-east-1")
plan = service.prepare(role)
print(plan.duration, plan.chained)
print(plan.warning)
"""


def test_a_jit_role_from_an_identity_center_profile_is_capped_at_an_hour(
    sandbox: Sandbox, home: Path
) -> None:
    """The role's source_profile is an Identity Center profile: botocore gets its credentials
    from our token (the AWS CLI's cache), and its 2h default is cut to AWS's chaining cap, saying
    why. (Another process: botocore fixes the token cache's folder from HOME at import.)"""
    import subprocess

    aws_cli_login(sandbox, home)
    out = subprocess.run(
        [sys.executable, "-c", PREPARE],
        capture_output=True,
        text=True,
        env=cli_env(sandbox, home),
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    first, warning = out.stdout.splitlines()[:2]
    assert first == "3600 True"
    assert "1h instead of its 2h" in warning and "caps role chaining at 1h" in warning
    assert "SharedServices-AdminAccess" in warning


def test_a_forward_ends_with_a_sign_in_that_cannot_be_renewed(sandbox: Sandbox, home: Path) -> None:
    """`--connect --forward --json` with a legacy sign-in (no refresh token) that ends in 30 min:
    the ready line's end is the sign-in's, not the permission set's hour."""
    import subprocess

    if sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    sandbox.sso_access_token_seconds = 1800
    record = aws_cli_login(sandbox, home, scopes=False)
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "sessiontui", "--connect", "prod-api-01",
            "--role", "Production/ProductionAccess", "--forward", "80", "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox, home),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        ready = json.loads(line)
        ends = datetime.fromisoformat(ready["expires_at"].replace("Z", "+00:00"))
        assert abs((ends - record["expiresAt"]).total_seconds()) < 5
    finally:
        proc.send_signal(2)
        proc.wait(timeout=30)
    assert proc.returncode in (0, 130), proc.stderr.read() if proc.stderr else ""


def test_list_at_a_terminal_signs_in_when_needed(sandbox: Sandbox, home: Path) -> None:
    """No token yet and a person at the terminal: the device sign-in is shown on stderr (no
    browser without a display), approved on the page, and the listing goes on."""
    from test_sso_login import _answer

    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--list", "--role", "Staging/DeveloperAccess"],
        env=cli_env(sandbox, home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 160),
    )
    child.expect(r"enter the code ([A-Z]{4}-[A-Z]{4})")
    code = child.match.group(1)
    child.expect("no display here")
    _answer(sandbox, code, "approve")
    child.expect("staging-api-01")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    path = home / ".aws/sso/cache" / f"{hashlib.sha1(b'sandbox').hexdigest()}.json"
    assert json.loads(path.read_text())["startUrl"] == sandbox.sso_start_url


def test_logout_wipes_role_credentials_and_listing_not_the_sign_in(
    sandbox: Sandbox, home: Path
) -> None:
    aws_cli_login(sandbox, home)
    assert _list(sandbox, home, "Production/ProductionAccess").returncode == 0
    out = run(sandbox, home, "--logout")
    assert out.returncode == 0, out.stderr
    assert "removed 2 cached credential file(s)" in out.stderr  # the role's keys, the listing
    token = home / ".aws/sso/cache" / f"{hashlib.sha1(b'sandbox').hexdigest()}.json"
    assert token.exists()  # the AWS CLI's sign-in is the AWS CLI's too
    sandbox.reset_calls()
    assert _list(sandbox, home, "Production/ProductionAccess").returncode == 0
    assert sandbox.calls[("sso", "GetRoleCredentials")] == 1  # fetched again
