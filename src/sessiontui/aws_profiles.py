"""~/.aws/config read directly (no boto3): its profiles, the roles they assume, their MFA serials.

configparser, as the AWS CLI reads it; AWS_CONFIG_FILE is honoured through `paths`.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path

from sessiontui import paths
from sessiontui.core.durations import DEFAULT_ROLE_MAX, parse_duration
from sessiontui.core.errors import UsageError
from sessiontui.core.roles import ROLE_ARN, RoleSpec


def read_aws_profiles(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Profiles of ~/.aws/config (AWS_CONFIG_FILE honoured): name -> settings. {} if unreadable."""
    file = path if path is not None else paths.aws_config_file()
    parser = configparser.RawConfigParser(strict=False)
    try:
        with open(file, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
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
