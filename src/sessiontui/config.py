"""The TOML config (keys as in the design's Configuration section), plus ~/.aws/config's roles
(read by `aws_profiles`).

Every mistake is reported as `config.toml:LINE: what is wrong` (ConfigError, exit 2). tomllib gives
no positions, so `_LineIndex` scans the source text for the line of each key and table. Unknown
keys are errors, so a typo never silently does nothing, and a secret is refused outright: TOTP
seeds live in the environment (`totp_secret_env`) or behind a command (`totp_command`).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.aws_profiles import (
    aws_profile_roles,
    read_aws_profiles,
    read_aws_sections,
    read_sso_sessions,
)
from sessiontui.config_check import Checker, KeyPath
from sessiontui.config_trust import COMMAND_KEYS, check_trusted
from sessiontui.core.durations import ABSOLUTE_MAX, DEFAULT_ROLE_MAX, MIN_DURATION
from sessiontui.core.errors import ConfigError
from sessiontui.core.roles import ROLE_ARN, RoleSpec
from sessiontui.stores import paths

if TYPE_CHECKING:
    # [[databases]] on use: most configs name none, and --credentials reads the config every call
    from sessiontui.core.databases import DatabasePreset

# AWS SerialNumber: an MFA device ARN or a hardware token's serial
MFA_SERIAL = re.compile(
    r"arn:aws[a-z-]*:iam::\d{12}:mfa/[\w+=,.@/-]+|[\w+=/:,.@-]{9,256}", re.ASCII
)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")

TOP_KEYS = (
    "regions",
    "mfa",
    "roles",
    "forwards",
    "plugin_path",
    "keymap",
    "profile",
    "ready_timeout",
    "terminal_command",
    "identity_center",
    "ssh",
    "databases",
    "run",
)
DATABASE_KEYS = (
    "name",
    "identifier",
    "endpoint",
    "user",
    "database",
    "auth",
    # a Secrets Manager ARN or name: `secret` itself is refused, as a key that holds secrets
    "secret_id",
    "bastion_tag",
    "local_port",
)
SSH_KEYS = ("role", "hosts")
RUN_KEYS = ("s3_bucket", "cloudwatch_log_group", "role")
# S3's bucket naming rules and CloudWatch Logs' log group pattern, as AWS checks them
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LOG_GROUP = re.compile(r"^[\w#/.-]{1,512}$")
IDENTITY_CENTER_KEYS = ("session",)
DEFAULT_READY_TIMEOUT = 30  # seconds a forward's plugin may take to say its port is open
MFA_KEYS = ("serial", "totp_secret_env", "totp_command")
ROLE_KEYS = (
    "arn",
    "duration",
    "max_duration",
    "scope",
    "source_profile",
    "reason_required",
    "mfa_serial",
    "external_id",
)
FORWARD_KEYS = ("name", "target", "host", "remote_port", "local_port")


@dataclass(frozen=True)
class MfaConfig:
    serial: str | None = None
    totp_secret_env: str | None = None  # the NAME of an environment variable
    totp_command: str | None = None  # argv (shlex), prints a base32 secret or a code


@dataclass(frozen=True)
class ForwardPreset:
    name: str
    target: str
    remote_port: int
    host: str | None = None
    local_port: int | None = None  # None or 0: a free port is picked


@dataclass(frozen=True)
class IdentityCenterConfig:
    session: str | None = None  # an [sso-session NAME] of ~/.aws/config to offer


@dataclass(frozen=True)
class SshConfig:
    """The role `--ssh-proxy` uses when ssh's ProxyCommand names none."""

    role: str | None = None  # for every host
    hosts: tuple[tuple[str, str], ...] = ()  # (glob on the host ssh asks for, role), first wins

    def role_for(self, host: str) -> str | None:
        for pattern, role in self.hosts:
            if fnmatch.fnmatchcase(host, pattern):
                return role
        return self.role


@dataclass(frozen=True)
class RunConfig:
    """[run]: where Run Command output goes beyond AWS's 24,000 / 8,000 character cut, and the
    access `--run` takes when no --role is given (as [ssh] role is for --ssh-proxy)."""

    s3_bucket: str = ""
    cloudwatch_log_group: str = ""
    role: str | None = None


@dataclass
class Config:
    regions: list[str] = field(default_factory=list)
    mfa: MfaConfig = field(default_factory=MfaConfig)
    roles: dict[str, RoleSpec] = field(default_factory=dict)  # config roles, then ~/.aws/config
    forwards: list[ForwardPreset] = field(default_factory=list)
    databases: list[DatabasePreset] = field(default_factory=list)
    plugin_path: Path | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    ready_timeout: int = DEFAULT_READY_TIMEOUT
    # argv (shlex) that opens a new terminal window running the argv appended to it
    terminal_command: tuple[str, ...] = ()
    identity_center: IdentityCenterConfig = field(default_factory=lambda: IdentityCenterConfig())
    ssh: SshConfig = field(default_factory=SshConfig)
    run: RunConfig = field(default_factory=RunConfig)
    source: Path | None = None  # the file read; None when there was none
    warnings: list[str] = field(default_factory=list)  # ~/.aws/config entries skipped, and why


# -- sections --------------------------------------------------------------------------------


def _regions(c: Checker, value: object) -> list[str]:
    path: KeyPath = ("regions",)
    if not isinstance(value, list):
        raise c.fail(path, 'regions must be a list of region names, e.g. ["us-east-1"]')
    out = []
    for item in value:
        if not isinstance(item, str) or not REGION.fullmatch(item):
            raise c.fail(path, f"regions: {item!r} is not an AWS region name like us-east-1")
        out.append(item)
    return list(dict.fromkeys(out))


def _mfa(c: Checker, value: object) -> MfaConfig:
    path: KeyPath = ("mfa",)
    table = c.table(value, path)
    c.keys(table, path, MFA_KEYS)
    serial = c.optional_string(table.get("serial"), (*path, "serial"))
    if serial is not None and not MFA_SERIAL.fullmatch(serial):
        raise c.fail(
            (*path, "serial"),
            "mfa.serial must be an MFA device ARN (arn:aws:iam::123456789012:mfa/NAME) "
            "or a hardware token's serial number",
        )
    env = c.optional_string(table.get("totp_secret_env"), (*path, "totp_secret_env"))
    if env is not None and not ENV_NAME.fullmatch(env):
        raise c.fail(
            (*path, "totp_secret_env"),
            "mfa.totp_secret_env is the NAME of an environment variable (like OPS_TOTP), "
            "not the secret itself",
        )
    command = c.optional_string(table.get("totp_command"), (*path, "totp_command"))
    if command is not None:
        try:
            shlex.split(command)
        except ValueError as exc:
            raise c.fail((*path, "totp_command"), f"mfa.totp_command: {exc}") from None
    if env is not None and command is not None:
        raise c.fail(
            (*path, "totp_command"),
            "[mfa] has both totp_secret_env and totp_command; keep at most one code source",
        )
    return MfaConfig(serial=serial, totp_secret_env=env, totp_command=command)


def _role(c: Checker, name: str, value: object) -> RoleSpec:
    path: KeyPath = ("roles", name)
    table = c.table(value, path)
    c.keys(table, path, ROLE_KEYS)
    if "arn" not in table:
        raise c.fail(path, f"role {name!r} needs an arn (arn:aws:iam::ACCOUNT:role/NAME)")
    arn = c.string(table["arn"], (*path, "arn"))
    if not ROLE_ARN.fullmatch(arn):
        raise c.fail(
            (*path, "arn"),
            f"roles.{name}.arn {arn!r} is not a role ARN like arn:aws:iam::123456789012:role/NAME",
        )
    max_duration: int | None = None
    if "max_duration" in table:
        max_duration = c.duration(table["max_duration"], (*path, "max_duration"))
        if not DEFAULT_ROLE_MAX <= max_duration <= ABSOLUTE_MAX:
            raise c.fail(
                (*path, "max_duration"), "a role's max_duration is between 1h and 12h in AWS"
            )
    duration = DEFAULT_ROLE_MAX
    if "duration" in table:
        duration = c.duration(table["duration"], (*path, "duration"))
        if duration < MIN_DURATION:
            raise c.fail((*path, "duration"), "duration is below the AWS minimum of 15m")
        limit = max_duration or ABSOLUTE_MAX
        if duration > limit:
            raise c.fail(
                (*path, "duration"),
                f"duration is over the role's maximum ({'max_duration' if max_duration else '12h'})",
            )
    elif max_duration is not None:
        duration = min(duration, max_duration)
    scope: dict[str, str] = {}
    if "scope" in table:
        scope_table = c.table(table["scope"], (*path, "scope"))
        for key, tag in scope_table.items():
            scope[key] = c.string(tag, (*path, "scope", key), empty=True)
    source_profile = c.optional_string(table.get("source_profile"), (*path, "source_profile"))
    mfa_serial = c.optional_string(table.get("mfa_serial"), (*path, "mfa_serial"))
    if mfa_serial is not None and not MFA_SERIAL.fullmatch(mfa_serial):
        raise c.fail((*path, "mfa_serial"), f"roles.{name}.mfa_serial is not an MFA device ARN")
    external_id = c.optional_string(table.get("external_id"), (*path, "external_id"))
    return RoleSpec(
        name=name,
        arn=arn,
        duration=duration,
        max_duration=max_duration,
        scope=scope,
        source_profile=source_profile,
        reason_required=c.boolean(table.get("reason_required", False), (*path, "reason_required")),
        mfa_serial=mfa_serial,
        origin="config",
        external_id=external_id,
    )


def _forwards(c: Checker, value: object) -> list[ForwardPreset]:
    if not isinstance(value, list):
        raise c.fail(("forwards",), "forwards must be an array of tables: [[forwards]]")
    out: list[ForwardPreset] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        path: KeyPath = ("forwards", i)
        table = c.table(item, path)
        c.keys(table, path, FORWARD_KEYS)
        for required in ("name", "target", "remote_port"):
            if required not in table:
                raise c.fail(path, f"forwards[{i + 1}] needs {required}")
        name = c.string(table["name"], (*path, "name"))
        if name in seen:
            raise c.fail((*path, "name"), f"two forwards are named {name!r}")
        seen.add(name)
        host = table.get("host")
        local = table.get("local_port")
        out.append(
            ForwardPreset(
                name=name,
                target=c.string(table["target"], (*path, "target")),
                remote_port=c.port(table["remote_port"], (*path, "remote_port"), 1),
                host=c.string(host, (*path, "host")) if host is not None else None,
                local_port=c.port(local, (*path, "local_port"), 0) if local is not None else None,
            )
        )
    return out


def _databases(c: Checker, value: object) -> list[DatabasePreset]:
    from sessiontui.core.databases import AUTHS, DatabasePreset

    if not isinstance(value, list):
        raise c.fail(("databases",), "databases must be an array of tables: [[databases]]")
    out: list[DatabasePreset] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        path: KeyPath = ("databases", i)
        table = c.table(item, path)
        c.keys(table, path, DATABASE_KEYS)
        if "name" not in table:
            raise c.fail(path, f"databases[{i + 1}] needs name")
        name = c.string(table["name"], (*path, "name"))
        if name in seen:
            raise c.fail((*path, "name"), f"two databases are named {name!r}")
        seen.add(name)
        if "identifier" in table and "endpoint" in table:
            raise c.fail(path, f"databases[{i + 1}]: identifier or endpoint, not both")

        def text(key: str, table: Mapping[str, object] = table, path: KeyPath = path) -> str | None:
            return c.string(table[key], (*path, key)) if key in table else None

        auth = text("auth")
        if auth is not None and auth not in AUTHS:
            raise c.fail((*path, "auth"), f"auth must be one of {', '.join(AUTHS)}")
        tag = text("bastion_tag")
        pair: tuple[str, str] | None = None
        if tag is not None:
            key, eq, val = tag.partition("=")
            if not (eq and key.strip()):
                raise c.fail((*path, "bastion_tag"), "bastion_tag must be KEY=VALUE")
            pair = (key.strip(), val.strip())
        local = table.get("local_port")
        out.append(
            DatabasePreset(
                name=name,
                identifier=text("identifier"),
                endpoint=text("endpoint"),
                user=text("user"),
                database=text("database"),
                auth=auth,
                secret=text("secret_id"),
                bastion_tag=pair,
                local_port=c.port(local, (*path, "local_port"), 0) if local is not None else None,
            )
        )
    return out


def _ssh(c: Checker, value: object) -> SshConfig:
    path: KeyPath = ("ssh",)
    table = c.table(value, path)
    c.keys(table, path, SSH_KEYS)
    role = c.string(table["role"], (*path, "role")) if "role" in table else None
    hosts: list[tuple[str, str]] = []
    if "hosts" in table:
        where: KeyPath = (*path, "hosts")
        for pattern, name in c.table(table["hosts"], where).items():
            hosts.append((pattern, c.string(name, (*where, pattern))))
    return SshConfig(role=role, hosts=tuple(hosts))


def _run(c: Checker, value: object) -> RunConfig:
    path: KeyPath = ("run",)
    table = c.table(value, path)
    c.keys(table, path, RUN_KEYS)

    def text(key: str, pattern: re.Pattern[str], what: str) -> str:
        if key not in table:
            return ""
        found = c.string(table[key], (*path, key))
        if not pattern.match(found):
            raise c.fail((*path, key), f"run.{key} {found!r} is not {what}")
        return found

    return RunConfig(
        s3_bucket=text("s3_bucket", _BUCKET, "an S3 bucket name (3-63 of a-z 0-9 . -)"),
        cloudwatch_log_group=text(
            "cloudwatch_log_group", _LOG_GROUP, "a log group name (1-512 of a-z A-Z 0-9 _ - / . #)"
        ),
        role=c.string(table["role"], (*path, "role")) if "role" in table else None,
    )


def _identity_center(c: Checker, value: object, aws_config: Path | None) -> IdentityCenterConfig:
    path: KeyPath = ("identity_center",)
    table = c.table(value, path)
    c.keys(table, path, IDENTITY_CENTER_KEYS)
    if "session" not in table:
        return IdentityCenterConfig()
    name = c.string(table["session"], (*path, "session"))
    if name not in read_sso_sessions(aws_config):
        raw = read_aws_sections(aws_config, "sso-session ")
        if name in raw:
            what = f"[sso-session {name}] has no sso_start_url or sso_region"
        else:
            known = ", ".join(sorted(raw)) or "none"
            what = f"there is no [sso-session {name}] (sso-sessions: {known})"
        where = aws_config if aws_config is not None else paths.aws_config_file()
        raise c.fail((*path, "session"), f"identity_center.session: {what} in {where}")
    return IdentityCenterConfig(session=name)


def _keymap(c: Checker, value: object) -> dict[str, str]:
    table = c.table(value, ("keymap",))
    return {k: c.string(v, ("keymap", k)) for k, v in table.items()}


def parse_config(text: str, file: Path, aws_config: Path | None = None) -> Config:
    """Validate the text of a config file; `file` names it in messages."""
    c = Checker(file, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        what = what[:1].lower() + what[1:]
        line = where.group(1) if where else str(max(1, text.count("\n")))
        column = f" (column {where.group(2)})" if where else ""
        raise ConfigError(
            f"{file.name}:{line}: TOML syntax: {what}{column}", f"in {file}"
        ) from None
    c.keys(data, (), TOP_KEYS)
    config = Config(source=file)
    if "regions" in data:
        config.regions = _regions(c, data["regions"])
    if "mfa" in data:
        config.mfa = _mfa(c, data["mfa"])
    if "roles" in data:
        roles = c.table(data["roles"], ("roles",))
        config.roles = {name: _role(c, name, spec) for name, spec in roles.items()}
    if "forwards" in data:
        config.forwards = _forwards(c, data["forwards"])
    if "databases" in data:
        config.databases = _databases(c, data["databases"])
    if "plugin_path" in data:
        config.plugin_path = Path(c.string(data["plugin_path"], ("plugin_path",))).expanduser()
    if "keymap" in data:
        config.keymap = _keymap(c, data["keymap"])
    if "profile" in data:
        config.profile = c.string(data["profile"], ("profile",))
    if "ready_timeout" in data:
        seconds = c.duration(data["ready_timeout"], ("ready_timeout",))
        if not 5 <= seconds <= 600:
            raise c.fail(("ready_timeout",), "ready_timeout must be between 5s and 10m")
        config.ready_timeout = seconds
    if "terminal_command" in data:
        config.terminal_command = _terminal_command(c, data["terminal_command"])
    if "ssh" in data:
        config.ssh = _ssh(c, data["ssh"])
    if "run" in data:
        config.run = _run(c, data["run"])
    if "identity_center" in data:
        config.identity_center = _identity_center(c, data["identity_center"], aws_config)
    return config


def _terminal_command(c: Checker, value: object) -> tuple[str, ...]:
    path: KeyPath = ("terminal_command",)
    text = c.string(value, path)
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise c.fail(path, f"terminal_command: {exc}") from None
    if "{}" in words or any("%s" in w for w in words):
        # the command to run is appended, never substituted: a placeholder would be passed as is
        raise c.fail(
            path,
            "terminal_command: the shell's command is appended to it; drop the placeholder "
            '(e.g. "kitty @ launch --type=tab", "wezterm cli spawn --")',
        )
    return tuple(words)


def commands_named(config: Config) -> list[str]:
    """Which of the keys that run a program this config sets."""
    named = {
        "mfa.totp_command": config.mfa.totp_command,
        "terminal_command": config.terminal_command,
        "plugin_path": config.plugin_path,
    }
    return [key for key in COMMAND_KEYS if named[key]]


def load_config(path: Path | None = None, *, aws_config: Path | None = None) -> Config:
    """The config file (defaults when there is none) plus the roles of ~/.aws/config.

    A config role wins over an AWS profile of the same name.
    """
    file = path if path is not None else paths.config_file()
    try:
        with file.open("rb") as f:
            st = os.fstat(f.fileno())  # the file read, not whatever the name points to later
            raw = f.read()
    except FileNotFoundError:
        if path is None and paths.config_file_from_env():
            # named on purpose: a typo in the name must not silently mean "no config at all"
            raise ConfigError(
                f"config file not found: {file}",
                "SESSIONTUI_CONFIG names it; fix the name, or unset SESSIONTUI_CONFIG to use "
                f"{paths.default_config_file()}",
            ) from None
        config = Config()
    except OSError as exc:
        raise ConfigError(
            f"{file.name}: cannot read the config file ({exc.strerror or exc})", f"in {file}"
        ) from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{file.name}:{line}: not UTF-8 text", f"in {file}") from None
        config = parse_config(text, file, aws_config)
        check_trusted(file, st, commands_named(config))
    profile_roles = aws_profile_roles(read_aws_profiles(aws_config), config.warnings)
    for name, role in profile_roles.items():
        config.roles.setdefault(name, role)
    return config
