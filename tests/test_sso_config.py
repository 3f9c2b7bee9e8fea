"""Identity Center configuration as the AWS CLI has it: sso-sessions, SSO profiles (new and legacy
forms), `[identity_center] session` in config.toml, and which session a sign-in picks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessiontui.aws_profiles import find_sso_session, read_sso_sessions, sso_profiles
from sessiontui.config import load_config
from sessiontui.core.errors import ConfigError, ExitCode, UsageError
from sessiontui.core.sso import DEFAULT_SCOPES

AWS_CONFIG = """\
[default]
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access, codewhisperer:completions

[sso-session lab]
sso_start_url = https://lab.awsapps.com/start/
sso_region = eu-central-1

[sso-session broken]
sso_start_url = https://broken.awsapps.com/start

[profile prod]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ProductionAccess
region = us-east-1

[profile old]
sso_start_url = https://old.awsapps.com/start
sso_region = us-west-2
sso_account_id = 222222222222
sso_role_name = ReadOnly

[profile half]
sso_session = corp

[profile keys]
aws_access_key_id = AKIAEXAMPLE
"""


@pytest.fixture
def aws_config(tmp_path: Path, private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "aws-config"
    path.write_text(AWS_CONFIG, encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    return path


def test_sso_sessions_are_read_with_their_scopes(aws_config: Path) -> None:
    sessions = read_sso_sessions()
    assert set(sessions) == {"corp", "lab"}  # "broken" has no region: not usable
    corp = sessions["corp"]
    assert corp.start_url == "https://corp.awsapps.com/start"
    assert corp.region == "us-east-1"
    assert corp.scopes == ("sso:account:access", "codewhisperer:completions")
    assert sessions["lab"].scopes == DEFAULT_SCOPES
    assert corp.session_name == "corp" and not corp.legacy


def test_sso_profiles_new_and_legacy_forms(aws_config: Path) -> None:
    profiles = sso_profiles()
    assert set(profiles) == {"prod", "old"}  # "half" names no account/role, "keys" is not SSO
    prod = profiles["prod"]
    assert (prod.account_id, prod.role_name, prod.region) == (
        "111111111111",
        "ProductionAccess",
        "us-east-1",
    )
    assert prod.session.name == "corp"
    old = profiles["old"].session
    assert old.legacy and old.session_name is None
    assert (old.start_url, old.region) == ("https://old.awsapps.com/start", "us-west-2")


def test_find_sso_session_order(aws_config: Path) -> None:
    assert find_sso_session("lab").name == "lab"
    assert find_sso_session("prod").name == "corp"  # a profile names its session
    assert find_sso_session("old").legacy
    assert find_sso_session(None, configured="lab").name == "lab"
    assert find_sso_session(None, profile="prod").name == "corp"
    with pytest.raises(UsageError, match="several sso-sessions are configured"):
        find_sso_session(None)
    with pytest.raises(UsageError, match="has no sso_region"):
        find_sso_session("broken")
    with pytest.raises(UsageError, match=r"named 'nope' \(sso-sessions: corp, lab\)"):
        find_sso_session("nope")


def test_the_only_session_is_taken(tmp_path: Path, private_home: Path) -> None:
    path = tmp_path / "one"
    path.write_text(
        "[sso-session only]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
    )
    assert find_sso_session(None, path=path).name == "only"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_identity_center_session_in_config_toml(aws_config: Path, tmp_path: Path) -> None:
    path = _config(tmp_path, '[identity_center]\nsession = "corp"\n')
    assert load_config(path).identity_center.session == "corp"
    assert load_config(_config(tmp_path, "")).identity_center.session is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[identity_center]\nsesion = "corp"\n', "config.toml:2: unknown key 'identity_center.sesion'; did you mean 'session'?"),
        ('regions = ["us-east-1"]\n[identity_center]\nsession = "nope"\n', "config.toml:3: identity_center.session: there is no [sso-session nope] (sso-sessions: broken, corp, lab)"),
        ('[identity_center]\nsession = "broken"\n', "config.toml:2: identity_center.session: [sso-session broken] has no sso_start_url or sso_region"),
        ("[identity_center]\nsession = 3\n", "config.toml:2: identity_center.session must be a string"),
        ('identity_center = "corp"\n', "config.toml:1: identity_center must be a table"),
    ],
)  # fmt: skip
def test_identity_center_mistakes_name_their_line(
    aws_config: Path, tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, text))
    assert err.value.message.startswith(message), err.value.message
    assert err.value.exit_code == ExitCode.USAGE


def _cli(home: Path, *args: str, aws_config: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    if aws_config is not None:
        env["AWS_CONFIG_FILE"] = aws_config
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_sso_login_without_a_session_says_how_to_add_one(tmp_path: Path) -> None:
    out = _cli(tmp_path, "--sso-login")
    assert out.returncode == 2, out.stderr
    assert "no Identity Center sso-session is configured" in out.stderr
    assert "aws configure sso-session" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 2


def test_sso_login_with_several_sessions_asks_for_a_name(tmp_path: Path) -> None:
    path = tmp_path / "aws-config"
    path.write_text(AWS_CONFIG)
    out = _cli(tmp_path, "--sso-login", aws_config=str(path))
    assert out.returncode == 2
    assert "several sso-sessions are configured (corp, lab)" in out.stderr
    out = _cli(tmp_path, "--sso-login", "nope", aws_config=str(path))
    assert out.returncode == 2
    assert "named 'nope'" in out.stderr


def test_sso_login_is_its_own_mode(tmp_path: Path) -> None:
    out = _cli(tmp_path, "--sso-login", "--list")
    assert out.returncode == 2
    assert "not allowed with" in out.stderr
