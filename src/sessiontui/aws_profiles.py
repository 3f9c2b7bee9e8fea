"""~/.aws/config read directly (no boto3): its profiles, the roles they assume, their MFA serials.

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

from sessiontui import paths
from sessiontui.core.durations import DEFAULT_ROLE_MAX, parse_duration
from sessiontui.core.errors import ConfigError, UsageError
from sessiontui.core.roles import ROLE_ARN, RoleSpec


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


def read_aws_profiles(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Profiles of ~/.aws/config (AWS_CONFIG_FILE honoured): name -> settings.

    {} when the file is missing or unreadable; ConfigError (exit 2) when it cannot be parsed.
    """
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
        if section == "default":
            name = "default"
        elif section.startswith("profile "):
            name = section[len("profile ") :].strip()
        else:
            continue  # sso-session, services, ...
        out[name] = {k: v.strip() for k, v in parser.items(section)}
    return out


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
