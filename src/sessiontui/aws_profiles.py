"""~/.aws/config read directly (no boto3): its profiles, the roles they assume, their MFA serials,
and Identity Center's sso-sessions and the profiles that use them.

configparser, as the AWS CLI reads it (botocore's rules: strict, one level of nested values);
AWS_CONFIG_FILE is honoured through `paths`. A file botocore could not parse either is a
ConfigError (exit 2) naming its line, rather than every AWS call failing later as if there were
no credentials at all. A missing or unreadable file is no profiles, as for botocore.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.core.durations import DEFAULT_ROLE_MAX, parse_duration
from sessiontui.core.errors import ConfigError, UsageError
from sessiontui.core.roles import ROLE_ARN, RoleSpec
from sessiontui.stores import paths

if TYPE_CHECKING:
    # Identity Center's shapes on use: a role's cache lookup (--credentials) reads profiles only
    from sessiontui.core.sso import SsoProfile, SsoSession


def _shown(file: Path) -> str:
    home = os.path.expanduser("~")
    text = str(file)
    return (
        "~" + text[len(home) :] if home not in ("", "/") and text.startswith(home + "/") else text
    )


def parse_error(file: Path, exc: BaseException) -> ConfigError:
    """configparser's (or botocore's ConfigParseError's inner) error as `FILE:LINE: what`."""
    line: int | None = getattr(exc, "lineno", None)
    what = "cannot be parsed"
    if isinstance(exc, configparser.MissingSectionHeaderError):
        what = "a setting before any [section] header"
    elif isinstance(exc, configparser.DuplicateOptionError):
        what = f"{exc.option!r} set twice in [{exc.section}]"
    elif isinstance(exc, configparser.DuplicateSectionError):
        what = f"section [{exc.section}] appears twice"
    elif isinstance(exc, configparser.ParsingError) and exc.errors:
        line = exc.errors[0][0]
        what = "a line that is neither `[section]`, `key = value` nor an indented continuation"
    elif isinstance(exc, UnicodeDecodeError):
        what = "not UTF-8 text"
    elif isinstance(exc, ValueError):
        what = f"a nested setting without `=` ({exc})"
    where = f"{_shown(file)}:{line}" if line else _shown(file)
    return ConfigError(
        f"{where}: {what}",
        "the AWS CLI cannot read this file either: fix it (AWS_CONFIG_FILE and "
        "AWS_SHARED_CREDENTIALS_FILE name other files)",
    )


def _check_nested(file: Path, parser: configparser.RawConfigParser) -> None:
    """botocore reads an indented block (`s3 =` then `  key = value` lines) as sub-settings."""
    for section in parser.sections():
        for option, value in parser.items(section):
            if value.startswith("\n"):
                for part in value.splitlines():
                    if part.strip() and "=" not in part:
                        raise parse_error(file, ValueError(f"{option} in [{section}]"))


def read_aws_sections(path: Path | None, prefix: str) -> dict[str, dict[str, str]]:
    file = path if path is not None else paths.aws_config_file()
    parser = configparser.RawConfigParser()  # strict, as botocore's
    try:
        with open(file, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError:
        return {}
    except (UnicodeDecodeError, configparser.Error) as exc:
        raise parse_error(file, exc) from None
    _check_nested(file, parser)
    out: dict[str, dict[str, str]] = {}
    for section in parser.sections():
        if prefix == "profile " and section == "default":
            name = "default"
        elif section.startswith(prefix):
            name = section[len(prefix) :].strip()
        else:
            continue
        out[name] = {k: v.strip() for k, v in parser.items(section)}
    return out


def read_aws_profiles(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Profiles of ~/.aws/config (AWS_CONFIG_FILE honoured): name -> settings.

    {} when the file is missing or unreadable; ConfigError (exit 2) when it cannot be parsed.
    """
    return read_aws_sections(path, "profile ")


def read_sso_sessions(path: Path | None = None) -> dict[str, SsoSession]:
    """The `[sso-session NAME]` sections that name a start URL and a region."""
    from sessiontui.core.sso import DEFAULT_SCOPES, SsoSession

    out: dict[str, SsoSession] = {}
    for name, settings in read_aws_sections(path, "sso-session ").items():
        start_url, region = settings.get("sso_start_url"), settings.get("sso_region")
        if not (name and start_url and region):
            continue  # the AWS CLI refuses these too; `find_sso_session` says what is missing
        scopes = tuple(
            s.strip() for s in settings.get("sso_registration_scopes", "").split(",") if s.strip()
        )
        out[name] = SsoSession(name, start_url, region, scopes or DEFAULT_SCOPES)
    return out


def profile_sso_session(
    name: str, settings: Mapping[str, str], sessions: Mapping[str, SsoSession]
) -> SsoSession | None:
    """The sso-session a profile signs in with: its `sso_session`, or its own legacy start URL."""
    if settings.get("sso_session"):
        return sessions.get(settings["sso_session"])
    if settings.get("sso_start_url") and settings.get("sso_region"):
        from sessiontui.core.sso import SsoSession

        return SsoSession(
            f"profile {name}", settings["sso_start_url"], settings["sso_region"], (), legacy=True
        )
    return None


def sso_profiles(path: Path | None = None) -> dict[str, SsoProfile]:
    """Profiles with an account and a role (permission set) through Identity Center."""
    from sessiontui.core.sso import SsoProfile

    sessions = read_sso_sessions(path)
    out: dict[str, SsoProfile] = {}
    for name, settings in read_aws_profiles(path).items():
        session = profile_sso_session(name, settings, sessions)
        account, role = settings.get("sso_account_id"), settings.get("sso_role_name")
        if session is None or not account or not role:
            continue
        out[name] = SsoProfile(name, session, account, role, settings.get("region") or None)
    return out


NO_SSO_SESSION_HINT = (
    "add one with `aws configure sso-session`, or write [sso-session NAME] with sso_start_url "
    "and sso_region in ~/.aws/config"
)


def find_sso_session(
    requested: str | None = None,
    configured: str | None = None,
    profile: str | None = None,
    path: Path | None = None,
) -> SsoSession:
    """The sso-session to sign in with; UsageError (exit 2) in words when there is none.

    In order: the name asked for (an sso-session, or a profile that uses one), config.toml's
    `[identity_center] session`, the active profile's, and the only sso-session there is.
    """
    sessions = read_sso_sessions(path)
    profiles = read_aws_profiles(path)
    raw = read_aws_sections(path, "sso-session ")
    for name in (requested, configured):
        if not name:
            continue
        if name in sessions:
            return sessions[name]
        if name in profiles and (found := profile_sso_session(name, profiles[name], sessions)):
            return found
        if name in raw:
            missing = [k for k in ("sso_start_url", "sso_region") if not raw[name].get(k)]
            raise UsageError(
                f"[sso-session {name}] in {paths.aws_config_file()} has no {' or '.join(missing)}",
                NO_SSO_SESSION_HINT,
            )
        known = ", ".join(sorted(sessions)) or "none"
        raise UsageError(
            f"no sso-session or Identity Center profile named {name!r} (sso-sessions: {known})",
            NO_SSO_SESSION_HINT,
        )
    if profile and profile in profiles:
        found = profile_sso_session(profile, profiles[profile], sessions)
        if found is not None:
            return found
    if len(sessions) == 1:
        return next(iter(sessions.values()))
    if not sessions:
        raise UsageError(
            f"no Identity Center sso-session is configured in {paths.aws_config_file()}",
            NO_SSO_SESSION_HINT,
        )
    raise UsageError(
        f"several sso-sessions are configured ({', '.join(sorted(sessions))}): name one, "
        "as in --sso-login NAME",
        'or set [identity_center] session = "NAME" in config.toml',
    )


def aws_profile_roles(
    profiles: Mapping[str, Mapping[str, str]], warnings: list[str] | None = None
) -> dict[str, RoleSpec]:
    """The profiles that assume a role, as RoleSpecs named after the profile."""
    out: dict[str, RoleSpec] = {}
    for name, settings in profiles.items():
        arn = settings.get("role_arn")
        if not arn:
            continue
        if not ROLE_ARN.fullmatch(arn):
            if warnings is not None:
                warnings.append(f"~/.aws/config profile {name}: role_arn is not a role ARN")
            continue
        duration = DEFAULT_ROLE_MAX
        if settings.get("duration_seconds"):
            try:
                duration = parse_duration(settings["duration_seconds"])
            except UsageError:
                if warnings is not None:
                    warnings.append(f"~/.aws/config profile {name}: duration_seconds unreadable")
        out[name] = RoleSpec(
            name=name,
            arn=arn,
            duration=duration,
            source_profile=settings.get("source_profile") or None,
            mfa_serial=settings.get("mfa_serial") or None,
            origin=f"aws-profile:{name}",
            external_id=settings.get("external_id") or None,
        )
    return out


def profile_mfa_serial(profile: str | None, aws_config: Path | None = None) -> str | None:
    """The mfa_serial a profile (default: "default") declares in ~/.aws/config, if any."""
    return read_aws_profiles(aws_config).get(profile or "default", {}).get("mfa_serial") or None


# settings of a config profile that make botocore resolve its credentials some other way than
# a static key (assume a role, web identity, Identity Center, a process)
_NOT_STATIC = {
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "sso_start_url",
    "sso_session",
    "credential_process",
    "login_session",
}


def static_access_key_id(
    profile: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The access key id botocore's credential chain resolves for this profile, when it is a
    static key that files or the environment name outright; None when only botocore can tell.

    It spares a cached role's `--credentials` the import of boto3: the credential cache is keyed
    by the base key. It follows botocore's order: environment keys win unless a profile is named
    explicitly (AWS_PROFILE does not count), then a config profile that assumes a role, signs in
    or runs a process is botocore's to resolve, then the shared credentials file's key.
    """
    env = os.environ if environ is None else environ
    if profile is None:
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            return key
        # botocore's order (configprovider): AWS_DEFAULT_PROFILE before AWS_PROFILE
        profile = env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or "default"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or env.get("AWS_ROLE_ARN"):
        return None
    try:
        settings = read_aws_profiles().get(profile, {})
        credentials = read_aws_sections(paths.aws_credentials_file(), "").get(profile, {})
    except ConfigError:
        return None  # botocore says what is wrong with the file
    if _NOT_STATIC & set(settings):
        return None
    key = credentials.get("aws_access_key_id")
    return key if key and credentials.get("aws_secret_access_key") else None
