"""The doctor: what is set up and what is missing, for `--doctor` and the TUI's palette.

Every check reads local files or makes harmless AWS calls (GetCallerIdentity, one small page of a
listing, IAM's simulator, calls on ids that cannot exist): nothing is started, ended or changed.
A check that fails says so in its own line and the report goes on.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from sessiontui.core.abilities import (
    Check,
    Report,
    Status,
    ability_check,
    clock_check,
    plugin_check,
)
from sessiontui.core.errors import SessiontuiError

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.config import Config
    from sessiontui.core.access import Access
    from sessiontui.runtime import Runtime

# a listing's first page is enough to find the tag sets StartSession is simulated against
SAMPLE_NODES = 50


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SessiontuiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def check_config(report: Report) -> None:
    from sessiontui.config import commands_named, load_config
    from sessiontui.stores import paths

    file = paths.config_file()
    try:
        config = load_config()
    except SessiontuiError as exc:
        report.add(Check(Status.FAIL, "config", exc.message, exc.hint or ""))
        return
    if not file.exists():
        report.add(Check(Status.OK, "config", f"no {file}: defaults and the AWS config are used"))
        return
    named = commands_named(config)
    trust = (
        f"names {', '.join(named)}, and only you may write it"
        if named
        else "names no command, so its permissions do not matter"
    )
    report.add(Check(Status.OK, "config", f"{file} is read; it {trust}"))
    for warning in config.warnings:
        report.add(Check(Status.WARN, "config", str(warning)))


def check_aws_config(report: Report) -> None:
    from sessiontui.aws_profiles import read_aws_profiles, read_sso_sessions
    from sessiontui.stores import paths

    file = paths.aws_config_file()
    if not file.exists():
        report.add(
            Check(
                Status.WARN,
                "aws config",
                f"no {file}: only the environment's credentials can be used",
                "run aws configure, or aws configure sso for Identity Center",
            )
        )
        return
    try:
        profiles, sessions = read_aws_profiles(file), read_sso_sessions(file)
    except SessiontuiError as exc:
        report.add(Check(Status.FAIL, "aws config", exc.message, exc.hint or ""))
        return
    report.add(
        Check(
            Status.OK,
            "aws config",
            f"{file}: {len(profiles)} profile(s), {len(sessions)} sso-session(s)",
        )
    )


def check_sign_in(report: Report, now: datetime) -> None:
    from sessiontui.aws.sso_token import TokenCache
    from sessiontui.aws_profiles import read_sso_sessions

    try:
        sessions = read_sso_sessions()
    except SessiontuiError:
        return  # check_aws_config has said why
    cache = TokenCache()
    for name, session in sessions.items():
        area = f"identity center {name}"
        try:
            token = cache.load(session)
        except SessiontuiError as exc:
            report.add(Check(Status.FAIL, area, exc.message, f"sessiontui --sso-login {name}"))
            continue
        if token is None:
            report.add(Check(Status.WARN, area, "not signed in", f"sessiontui --sso-login {name}"))
        elif token.seconds_left(now) <= 0:
            refresh = " (it can be refreshed)" if token.can_refresh(now) else ""
            report.add(
                Check(
                    Status.WARN,
                    area,
                    f"the sign-in ended at {_when(token.expires_at)}{refresh}",
                    f"sessiontui --sso-login {name}",
                )
            )
        else:
            report.add(Check(Status.OK, area, f"signed in until {_when(token.expires_at)}"))


def check_plugin(report: Report, config: Config) -> None:
    from sessiontui.plugin.locate import locate_plugin

    try:
        info = locate_plugin(config.plugin_path)
    except SessiontuiError as exc:
        report.add(Check(Status.FAIL, "plugin", exc.message, exc.hint or ""))
        return
    report.add(plugin_check(str(info.path), info.version))


def check_tools(report: Report) -> None:
    from sessiontui.browser import has_display

    tmux = shutil.which("tmux")
    if tmux:
        report.add(Check(Status.OK, "tmux", f"{tmux}: shells can open in new tmux windows"))
    else:
        report.add(
            Check(
                Status.WARN,
                "tmux",
                "not installed: shells open in place, one at a time",
                "install tmux, or set terminal_command in the config",
            )
        )
    if has_display():
        report.add(Check(Status.OK, "browser", "a display is there: sign-in pages open in it"))
    else:
        report.add(
            Check(
                Status.WARN,
                "browser",
                "no display (DISPLAY, WAYLAND_DISPLAY): sign-in pages must be opened by hand",
                "open the printed URL on any device",
            )
        )


@dataclass
class Held:
    """One identity to check: the base identity or an access, with its clients."""

    name: str
    factory: ClientFactory
    ends_at: datetime | None
    temporary: bool = True  # False: long-term keys, which do not end by themselves
    role: str = ""  # the name its sessions are audited under (an access's name)


def _skew(date_header: str | None, now: datetime) -> float | None:
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    return (now - theirs).total_seconds()


def _sample(factory: ClientFactory, region: str, account: str) -> tuple[list[Any], str | None]:
    """A page of listed nodes with their tags (ARNs for StartSession), and a hybrid node's id."""
    from sessiontui.aws.abilities import SampleNode, node_arn
    from sessiontui.aws.inventory import list_fleet

    try:
        result = list_fleet(factory, [region])
    except Exception:  # a listing refused is the "list" ability's finding, not an error here
        return [], None
    nodes = result.nodes[:SAMPLE_NODES]
    hybrid = next((n.id for n in nodes if n.id.startswith("mi-")), None)
    return [
        SampleNode(node_arn(region, n.account_id or account, n.id), dict(n.tags)) for n in nodes
    ], hybrid


def _learnt(role: str) -> dict[str, Any]:
    """What the audit log says this access's sessions were allowed or refused (no AWS call)."""
    from sessiontui.core.abilities import learnt_findings
    from sessiontui.stores.audit import read_events

    if not role:
        return {}
    try:
        events = read_events()
    except (OSError, ValueError):
        return {}  # an unreadable log teaches nothing; the report goes on
    return learnt_findings(events, role)


def check_identity(
    report: Report,
    held: Held,
    region: str,
    now: datetime,
    simulators: Sequence[tuple[str, str, Any]],
    clock_done: list[bool],
) -> str:
    """Credentials, clock (once) and abilities of one identity; returns its account."""
    from sessiontui.aws.abilities import caller_of, find_abilities

    area = held.name
    try:
        caller, date = caller_of(held.factory.client("sts", region))
    except Exception as exc:
        report.add(
            Check(Status.FAIL, area, f"credentials refused: {_error_text(exc)}", "sign in again")
        )
        return ""
    if held.ends_at is not None:
        ends = f"until {_when(held.ends_at)}"
    else:
        ends = (
            "until their source renews them" if held.temporary else "with no end (long-term keys)"
        )
    report.add(Check(Status.OK, area, f"credentials of {caller.arn}, valid {ends}"))
    if not clock_done[0]:
        skew = _skew(date, now)
        if skew is not None:
            report.add(clock_check(skew))
            clock_done[0] = True
    nodes, hybrid = _sample(held.factory, region, caller.account)
    others = [
        (name, iam)
        for name, account, iam in simulators
        if account == caller.account and name != held.name
    ]
    try:
        findings, how = find_abilities(
            lambda service: held.factory.client(service, region),
            caller,
            region,
            nodes,
            hybrid,
            others,
            _learnt(held.role),
        )
    except Exception as exc:
        report.add(Check(Status.FAIL, area, f"abilities not found: {_error_text(exc)}"))
        return caller.account
    for finding in findings:
        report.add(ability_check(f"{area} ({how})" if finding.ability == "list" else area, finding))
    return caller.account


def held_identities(rt: Runtime, ask: Callable[[str], str | None] | None) -> list[Held]:
    """The base identity when it has credentials, then each --role access (obtained as --list
    does), else each access already held in a cache (never asking for anything)."""

    found: list[Held] = []
    factory: ClientFactory = rt.factory
    if factory.has_credentials():
        try:
            temporary = bool(factory.frozen_credentials().session_token)
        except SessiontuiError:
            temporary = True
        found.append(Held("base identity", factory, None, temporary))
    accesses: list[Access] = []
    if rt.roles:
        accesses = rt.accesses(ask=ask)
    else:
        book = rt.access_book
        try:
            offers = book.offers()
        except Exception:  # a source that needs a sign-in lists nothing: the sign-in line says so
            offers = []
        for offer in offers:
            try:
                held = book.cached(offer)
            except Exception:
                continue
            if held is not None:
                accesses.append(held)
    for access in accesses:
        found.append(
            Held(
                f"access {access.name}",
                rt.factory_for(access),
                access.ends_at,
                role=access.name,
            )
        )
    return found


def diagnose(rt: Runtime, ask: Callable[[str], str | None] | None = None) -> Report:
    report = Report()
    now = rt.clock.now()
    check_config(report)
    check_aws_config(report)
    check_sign_in(report, now)
    check_plugin(report, rt.config)
    check_tools(report)
    region = rt.regions[0]
    try:
        identities = held_identities(rt, ask)
    except SessiontuiError as exc:
        report.add(Check(Status.FAIL, "access", exc.message, exc.hint or ""))
        identities = []
    if not identities:
        report.add(
            Check(
                Status.FAIL,
                "credentials",
                "no credentials: neither the default chain nor a held access has any",
                "aws configure, sessiontui --sso-login, or --role NAME",
            )
        )
    # credentials that may run IAM's simulator for others of their account (an admin's access)
    simulators: list[tuple[str, str, Any]] = []
    for held in identities:
        try:
            account = held.factory.client("sts", region).get_caller_identity()["Account"]
        except Exception:
            continue
        simulators.append((held.name, str(account), held.factory.client("iam", region)))
    clock_done = [False]
    for held in identities:
        check_identity(report, held, region, now, simulators, clock_done)
    return report
