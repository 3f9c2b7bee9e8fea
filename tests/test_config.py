"""config.toml: the good file, each bad case with its line number, and ~/.aws/config roles."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessiontui.aws_profiles import aws_profile_roles, profile_mfa_serial, read_aws_profiles
from sessiontui.config import (
    Config,
    ForwardPreset,
    MfaConfig,
    load_config,
    parse_config,
)
from sessiontui.core.errors import ConfigError, ExitCode

GOOD = """\
regions = ["us-east-1", "eu-west-1"]
profile = "ops"
plugin_path = "~/bin/session-manager-plugin"

[mfa]
serial = "arn:aws:iam::123456789012:mfa/operator"
# at most one code source
totp_secret_env = "OPS_TOTP"

[roles.ProdOps]
arn = "arn:aws:iam::123456789012:role/ProdOps"
duration = "2h"
max_duration = "4h"
scope = { project = "Production" }
source_profile = "default"
reason_required = true

[roles.FleetAdmin]
arn = "arn:aws:iam::123456789012:role/FleetAdmin"
duration = 1800
mfa_serial = "arn:aws:iam::123456789012:mfa/admin"

[[forwards]]
name = "orders-db"
target = "project=Production"
host = "orders.cluster-abc.us-east-1.rds.amazonaws.com"
remote_port = 5432
local_port = 15432

[[forwards]]
name = "web"
target = "web-01"
remote_port = 80

[keymap]
"session.connect" = "ctrl+o"
"""


@pytest.fixture(autouse=True)
def config_home(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = private_home
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.delenv("SESSIONTUI_CONFIG", raising=False)
    return home


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == ExitCode.USAGE
    return info.value.message


def test_good_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.regions == ["us-east-1", "eu-west-1"]
    assert config.profile == "ops"
    assert config.plugin_path == Path("~/bin/session-manager-plugin").expanduser()
    assert config.mfa == MfaConfig(
        serial="arn:aws:iam::123456789012:mfa/operator", totp_secret_env="OPS_TOTP"
    )
    prod = config.roles["ProdOps"]
    assert (prod.name, prod.duration, prod.max_duration) == ("ProdOps", 7200, 14400)
    assert dict(prod.scope) == {"project": "Production"}
    assert prod.source_profile == "default" and prod.reason_required and prod.origin == "config"
    admin = config.roles["FleetAdmin"]
    assert admin.duration == 1800 and admin.mfa_serial == "arn:aws:iam::123456789012:mfa/admin"
    assert not admin.reason_required and admin.max_duration is None
    assert config.forwards == [
        ForwardPreset(
            "orders-db",
            "project=Production",
            5432,
            "orders.cluster-abc.us-east-1.rds.amazonaws.com",
            15432,
        ),
        ForwardPreset("web", "web-01", 80),
    ]
    assert config.keymap == {"session.connect": "ctrl+o"}


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml")
    assert config == Config()


def test_default_location_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "xdg_config_home" / "sessiontui" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text('regions = ["eu-west-1"]\n')
    assert load_config().regions == ["eu-west-1"]
    other = write(tmp_path, 'regions = ["us-east-2"]\n', "other.toml")
    monkeypatch.setenv("SESSIONTUI_CONFIG", str(other))
    assert load_config().regions == ["us-east-2"]


BAD_CASES = [
    # (text, line, words in the message)
    ('regions = ["us-east-1"]\nregoins = ["x"]\n', 2, "did you mean 'regions'"),
    (
        "[mfa]\nserial = 'arn:aws:iam::123456789012:mfa/op'\ntotp_secret = 'JBSWY3DP'\n",
        3,
        "totp_secret_env",
    ),
    ("[mfa]\ntotp_secret_env = 'A'\ntotp_command = 'pass otp aws'\n", 3, "at most one"),
    (
        "[[databases]]\nname = 'orders'\nidentifier = 'o'\nsecret = 'arn:aws:secretsmanager:x'\n",
        4,
        "with secret_id",
    ),
    ("[mfa]\ntotp_secret_env = 'JBSWY3DP EHPK3PXP'\n", 2, "NAME of an environment variable"),
    ("[mfa]\nserial = 'x'\n", 2, "MFA device ARN"),
    ("\n[roles.ProdOps]\nduration = '1h'\n", 2, "needs an arn"),
    ("[roles.ProdOps]\narn = 'arn:aws:iam::1234:role/ProdOps'\n", 2, "not a role ARN"),
    ("[roles.ProdOps]\narn = 'arn:aws:iam::123456789012:user/bob'\n", 2, "not a role ARN"),
    (
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nduration = 'two hours'\n",
        3,
        "cannot read duration",
    ),
    ("[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nduration = '10m'\n", 3, "minimum"),
    (
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nmax_duration = '2h'\nduration = '3h'\n",
        4,
        "maximum",
    ),
    ("[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nmax_duration = '13h'\n", 3, "12h"),
    (
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nreason_required = 'yes'\n",
        3,
        "true or false",
    ),
    (
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nscope = { project = 1 }\n",
        3,
        "must be a string",
    ),
    (
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/A'\nsorce_profile = 'x'\n",
        3,
        "did you mean 'source_profile'",
    ),
    ("[[forwards]]\nname = 'a'\ntarget = 't'\nremote_port = 70000\n", 4, "1-65535"),
    (
        "[[forwards]]\nname = 'a'\ntarget = 't'\nremote_port = 80\n\n[[forwards]]\nname = 'b'\n"
        "target = 't'\nremote_port = 80\nlocal_port = -1\n",
        10,
        "0-65535",
    ),
    ("[[forwards]]\nname = 'a'\ntarget = 't'\n", 1, "needs remote_port"),
    ("[[forwards]]\nname = 'a'\ntarget = 't'\nremote_port = true\n", 4, "port number"),
    (
        "[[forwards]]\nname = 'a'\ntarget = 't'\nremote_port = 1\n[[forwards]]\nname = 'a'\n"
        "target = 't'\nremote_port = 2\n",
        6,
        "two forwards",
    ),
    ("regions = 'us-east-1'\n", 1, "list of region names"),
    ("regions = [\n  'us-east-1',\n]\nprofile = 3\n", 4, "must be a string"),
    ("# comment\n\n[keymap]\nquit = 5\n", 4, "must be a string"),
    ("regions = [\"us-east-1\"\n\nprofile = 'x'\n", 3, "TOML syntax"),
    ("a = 1\nb = \n", 2, "TOML syntax"),
    ("[mfa]\nserial = 'arn:aws:iam::123456789012:mfa/op'\n[mfa]\n", 3, "TOML syntax"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD_CASES)
def test_bad_config_names_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"config.toml:{line}: "), message
    assert words in message


def test_message_uses_real_file_name_and_hints_at_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, "\n\nbogus = 1\n", "demo.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message.startswith("demo.toml:3: unknown key 'bogus'")
    assert info.value.hint == f"in {path}"


def test_inline_role_tables_and_dotted_keys_get_their_lines(tmp_path: Path) -> None:
    text = (
        "[roles]\n"
        "Ok = { arn = 'arn:aws:iam::123456789012:role/Ok' }\n"
        "Bad = { arn = 'arn:aws:iam::123456789012:role/Bad', duration = '1x' }\n"
    )
    assert error_of(tmp_path, text).startswith("config.toml:3: ")
    dotted = "roles.A.arn = 'arn:aws:iam::123456789012:role/A'\nroles.A.durration = '1h'\n"
    assert error_of(tmp_path, dotted).startswith("config.toml:2: ")


def test_any_secret_looking_key_is_refused(tmp_path: Path) -> None:
    for key in ("totp_secret", "secret", "aws_secret_access_key", "mfa_code"):
        message = error_of(tmp_path, f"[mfa]\n{key} = 'x'\n")
        assert "secrets never go in the config file" in message
        assert "totp_secret_env" in message
    top = error_of(tmp_path, "totp_secret = 'JBSWY3DPEHPK3PXP'\n")
    assert top.startswith("config.toml:1: ") and "secrets never go" in top
    # and the value is never repeated back
    assert "JBSWY3DPEHPK3PXP" not in top


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"regions = []\nprofile = '\xff'\n")
    with pytest.raises(ConfigError, match=r"^config.toml:2: not UTF-8"):
        load_config(path)


def test_role_duration_defaults(tmp_path: Path) -> None:
    config = parse_config(
        "[roles.A]\narn = 'arn:aws:iam::123456789012:role/path/A'\n", Path("config.toml")
    )
    assert config.roles["A"].duration == 3600
    assert config.roles["A"].arn.endswith("role/path/A")


AWS_CONFIG = """\
[default]
region = us-east-1
mfa_serial = arn:aws:iam::123456789012:mfa/operator

[profile ops]
role_arn = arn:aws:iam::123456789012:role/OpsFromProfile
source_profile = default
mfa_serial = arn:aws:iam::123456789012:mfa/operator
duration_seconds = 7200

[profile ProdOps]
role_arn = arn:aws:iam::123456789012:role/ShadowedByConfig
source_profile = default

[profile plain]
region = eu-west-1

[profile broken]
role_arn = not-an-arn

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
"""


def test_roles_from_aws_config(tmp_path: Path, private_home: Path) -> None:
    (private_home / "aws-config").write_text(AWS_CONFIG)
    config = load_config(write(tmp_path, GOOD))
    ops = config.roles["ops"]
    assert ops.origin == "aws-profile:ops"
    assert ops.arn == "arn:aws:iam::123456789012:role/OpsFromProfile"
    assert (ops.duration, ops.source_profile) == (7200, "default")
    assert ops.mfa_serial == "arn:aws:iam::123456789012:mfa/operator"
    # config wins on a name clash
    assert config.roles["ProdOps"].arn.endswith("role/ProdOps")
    assert config.roles["ProdOps"].origin == "config"
    assert "plain" not in config.roles and "broken" not in config.roles
    assert any("broken" in w for w in config.warnings)
    assert profile_mfa_serial(None) == "arn:aws:iam::123456789012:mfa/operator"
    assert profile_mfa_serial("plain") is None


def test_aws_config_without_config_file(private_home: Path, tmp_path: Path) -> None:
    (private_home / "aws-config").write_text(AWS_CONFIG)
    config = load_config(tmp_path / "none.toml")
    assert set(config.roles) == {"ops", "ProdOps"}


def test_missing_aws_config_is_no_profiles_and_a_broken_one_an_error(private_home: Path) -> None:
    # issue 13: a broken file was read as "no profiles", and then as "no AWS credentials found"
    assert read_aws_profiles(private_home / "no-such-file") == {}
    assert aws_profile_roles({}) == {}
    (private_home / "aws-config").write_text("[default\nnot ini at all")
    with pytest.raises(ConfigError, match=r"aws-config:1: a setting before any \[section\]"):
        read_aws_profiles()


def test_config_does_not_import_textual() -> None:
    code = (
        "import sys, sessiontui.config, sessiontui.aws.identity, sessiontui.aws.mfa, "
        "sessiontui.aws.credcache, sessiontui.core.mfa_window; "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ready_timeout_is_a_bounded_duration(tmp_path: Path) -> None:
    from sessiontui.config import DEFAULT_READY_TIMEOUT, parse_config

    file = tmp_path / "config.toml"
    assert parse_config("", file).ready_timeout == DEFAULT_READY_TIMEOUT
    assert parse_config('ready_timeout = "90s"\n', file).ready_timeout == 90
    with pytest.raises(ConfigError, match=r"config.toml:2: ready_timeout must be between"):
        parse_config('regions = []\nready_timeout = "1s"\n', file)


def test_ssh_default_roles_by_host(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [ssh]
        role = "FleetAdmin"
        hosts = { "prod-*" = "ProdOps", "stg-*" = "StagingDev" }
        """,
    )
    ssh = load_config(path).ssh
    assert ssh.role_for("prod-web-01") == "ProdOps"
    assert ssh.role_for("stg-web-01") == "StagingDev"
    assert ssh.role_for("i-0abc") == "FleetAdmin"
    assert load_config(write(tmp_path, "regions = []\n", "empty.toml")).ssh.role_for("x") is None


def test_ssh_table_is_checked(tmp_path: Path) -> None:
    assert "config.toml:3: unknown key 'ssh.rol'" in error_of(
        tmp_path, '\n[ssh]\nrol = "ProdOps"\n'
    )
    assert "ssh.hosts" in error_of(tmp_path, '[ssh]\nhosts = { "prod-*" = 3 }\n')


# -- a config that names commands is trusted as ssh trusts its own (issue 29) ----------------------

COMMANDS = {
    "mfa.totp_command": '[mfa]\nserial = "arn:aws:iam::123456789012:mfa/op"\ntotp_command = "pass otp aws"\n',
    "terminal_command": 'terminal_command = "kitty @ launch --type=tab"\n',
    "plugin_path": 'plugin_path = "/usr/local/bin/session-manager-plugin"\n',
}


def _config(tmp_path: Path, text: str, mode: int, folder_mode: int = 0o700) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    folder.chmod(folder_mode)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("key", list(COMMANDS))
@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_config_naming_a_command_writable_by_others_is_refused_with_exit_2(
    tmp_path: Path, key: str, mode: int
) -> None:
    path = _config(tmp_path, COMMANDS[key], mode)
    done = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--list"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SESSIONTUI_CONFIG": str(path)},
        timeout=60,
    )
    assert done.returncode == int(ExitCode.USAGE), done.stderr
    first, hint = done.stderr.splitlines()
    assert first.startswith(
        f"sessiontui: config.toml: refusing a config that names a command ({key})"
    )
    assert f"(mode {mode:04o})" in first and "Traceback" not in done.stderr
    assert (
        hint
        == f"  fix it with: chmod go-w {path} (and chown it to yourself), as ssh asks of ~/.ssh/config"
    )


def test_private_configs_and_configs_naming_no_command_are_read(tmp_path: Path) -> None:
    for key, text in COMMANDS.items():
        path = _config(tmp_path, text, 0o644)
        assert load_config(path, aws_config=tmp_path / "none").source == path, key
    # nothing to run: read whatever its mode (it cannot run anything)
    loose = _config(tmp_path, 'regions = ["us-east-1"]\n', 0o666, 0o777)
    assert load_config(loose, aws_config=tmp_path / "none").regions == ["us-east-1"]
    # a folder others may write, but sticky (as /tmp): they cannot replace our file
    sticky = _config(tmp_path, COMMANDS["terminal_command"], 0o600, 0o1777)
    assert load_config(sticky, aws_config=tmp_path / "none").terminal_command


def test_a_folder_others_may_write_or_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, COMMANDS["plugin_path"], 0o600, 0o777)
    with pytest.raises(ConfigError, match=r"its folder .* is writable by group and others"):
        load_config(path, aws_config=tmp_path / "none")
    path.parent.chmod(0o700)
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    os.chown(path, 65534, -1)  # nobody's
    with pytest.raises(ConfigError, match=r"is owned by uid 65534, not by you \(uid 0\) or root"):
        load_config(path, aws_config=tmp_path / "none")
    os.chown(path, 0, -1)  # root's: trusted, as ssh trusts root's files
    assert load_config(path, aws_config=tmp_path / "none").plugin_path
