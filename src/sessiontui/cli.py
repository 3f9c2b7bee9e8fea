"""Command line: argument parsing (the flags are `cli_parser`'s) and the headless paths.

Imports are lazy on purpose: `--help` and `--version` must not pay for textual or boto3, and a
held role's `--credentials ROLE` (credential_process, before every AWS call) not even for argparse,
nor for the config while the memo of its inputs holds (commands.held_credentials).
"""

from __future__ import annotations

import gc
import os
import sys

from sessiontui.core.errors import ExitCode, SessiontuiError, UsageError

# a held role's answer (commands.held_credentials) must not wait for typing's import (re,
# functools, contextlib) nor for core.untrusted's regular expressions: both are imported on use
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import TextIO

    from sessiontui.core.node import Node


def build_parser() -> argparse.ArgumentParser:
    """The flags, from `cli_parser`: a held role's --credentials answers without importing it."""
    from sessiontui.cli_parser import build_parser as build

    return build()


def _credentials_alone(words: Sequence[str]) -> str | None:
    """ROLE when the command line is `--credentials ROLE` (or `--credentials=ROLE`) and nothing
    else: what a credential_process line runs, and what argparse would read the same way (a word
    starting with `-` would be an option to it, so that is left to argparse)."""
    if len(words) == 2 and words[0] == "--credentials":
        role = words[1]
    elif len(words) == 1 and words[0].startswith("--credentials="):
        role = words[0].removeprefix("--credentials=")
    else:
        return None
    return role if role and not role.startswith("-") else None


def _recalled_credentials(role: str) -> bool:
    """Print the document of a role the memo says is held, its inputs unchanged (no config
    parse); False on any difference or doubt: `_held_credentials` then reads the config."""
    from sessiontui.commands.held_credentials import recalled_json

    return _answered(lambda: recalled_json(role))


def _held_credentials(role: str, profile: str | None = None, region_given: bool = False) -> bool:
    """Print the document of a role held in the credential cache; False when the full path must
    decide (nothing usable cached, renewal due, a role of another source). Any failure is also
    left to the full path, which meets it again and says it in words."""
    from sessiontui.commands.credentials import cached_json

    return _answered(lambda: cached_json(role, profile=profile, region_given=region_given))


def _answered(find: Callable[[], str | None]) -> bool:
    """Print what `find` gives; False when it gives nothing or fails (the full path decides)."""
    try:
        found = find()
    except Exception:
        return False
    if found is None:
        return False
    _emit(found)
    return True


def _fail(err: SessiontuiError) -> int:
    from sessiontui.core.untrusted import terminal_text

    # messages quote names and answers from AWS: each line stays one line, its controls visible
    lines = [terminal_text(line) for line in err.lines()]
    for i, line in enumerate(lines):
        print(f"sessiontui: {line}" if i == 0 else f"  {line}", file=sys.stderr)
    return int(err.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    # credential_process runs this before every AWS call: a held role answers before argparse,
    # Runtime, boto3 or the access book are imported
    alone = _credentials_alone(words)
    if alone is not None and (_recalled_credentials(alone) or _held_credentials(alone)):
        return 0
    args = build_parser().parse_args(words)
    if args.completion or args.complete_names:
        from sessiontui.commands.completion import names, script

        if args.completion:
            sys.stdout.write(script(args.completion, build_parser()))
        else:
            sys.stdout.write("".join(f"{name}\n" for name in names(args.complete_names)))
        return 0
    if args.connect is not None and not args.connect.strip():
        return _fail(UsageError("--connect needs a target: an instance id, a Name tag or K=V"))
    if args.forward and not args.connect:
        return _fail(UsageError("--forward needs --connect TARGET"))
    if args.wait is not None and not args.request_access:
        return _fail(UsageError("--wait goes with --request-access TARGET"))
    if args.plugin and not args.demo:
        return _fail(UsageError("--plugin goes with --demo"))
    json_with = (args.list, args.forward, args.sessions, args.db, args.doctor, args.run is not None)
    if args.json and not any(json_with):
        return _fail(
            UsageError(
                "--json goes with --list, --sessions, --db, --doctor, --run or --connect --forward"
            )
        )
    if args.client and not args.db:
        return _fail(UsageError("--client goes with --db NAME"))
    if args.db is not None and not args.db.strip():
        return _fail(
            UsageError("--db needs a name: a [[databases]] preset, an identifier or an endpoint")
        )
    run_only = [
        flag
        for flag, given in (
            ("--target", args.target),
            ("--document", args.document),
            ("--parameter", args.parameter),
            ("--max-concurrency", args.max_concurrency != "50"),
            ("--max-errors", args.max_errors != "0"),
            ("--timeout", args.timeout),
        )
        if given
    ]
    if run_only and args.run is None:
        return _fail(UsageError(f"{run_only[0]} goes with --run CMD"))
    from sessiontui.plugin.signals import ShutdownRequested

    try:
        _check_args(args)
        return _run(args, cache_tried=alone is not None)
    except SessiontuiError as err:
        return _fail(err)
    except KeyboardInterrupt as stop:
        word = "cancelled" if isinstance(stop, _Cancelled) else "interrupted"
        print(f"sessiontui: {word}", file=sys.stderr)
        return 130
    except ShutdownRequested as stop:  # SIGTERM/SIGHUP, after the demo's cleanup ran
        print(f"sessiontui: {stop.name} received, stopped", file=sys.stderr)
        return 128 + int(stop.signum)
    except Exception as exc:  # the last line of defence: words, not a traceback
        if os.environ.get("SESSIONTUI_DEBUG"):
            raise
        from sessiontui.core.untrusted import terminal_text

        what = terminal_text(f"{type(exc).__name__}: {exc}")
        print(f"sessiontui: unexpected error: {what}", file=sys.stderr)
        print("  run again with SESSIONTUI_DEBUG=1 to see the traceback", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)


def _check_args(args: argparse.Namespace) -> None:
    """What can be refused before touching config, AWS or the terminal."""
    from sessiontui.core.durations import parse_duration
    from sessiontui.core.query import tag_terms

    if args.tag:  # core.query is the filter language's: a run without --tag skips its import
        tag_terms(args.tag)
    if args.ssh_proxy:
        from sessiontui.commands.ssh_proxy import check_port

        check_port(args.ssh_proxy[1])
    if args.duration:
        parse_duration(args.duration)
    if args.mfa_code is not None:
        code = "".join(args.mfa_code.split())  # authenticator apps show `123 456`
        if not (len(code) == 6 and code.isdigit()):
            raise UsageError("--mfa-code must be the six digits your MFA device shows")
        args.mfa_code = code
    if args.request_access:
        from sessiontui.commands.request_access import check_args

        check_args(args)
    if args.run is not None:
        from sessiontui.commands.run import check_args as check_run

        check_run(args)


def _run(args: argparse.Namespace, cache_tried: bool = False) -> int:
    cacheable = args.credentials and not (args.demo or args.duration or cache_tried)
    if cacheable and _held_credentials(args.credentials, args.profile, bool(args.region)):
        return 0  # as in main, for a credential_process line with --profile or --region
    from sessiontui.runtime import Runtime

    if args.sso_login is not None:
        from sessiontui.commands.sso_login import sso_login

        return sso_login(args, _say)
    if not (
        args.logout
        or args.list
        or args.connect
        or args.credentials
        or args.request_access
        or args.sessions
        or args.terminate
        or args.ssh_proxy
        or args.ssh_config
        or args.db
        or args.doctor
        or args.run is not None
    ):
        # Start-up makes hundreds of thousands of objects (Textual's classes and CSS, the cached
        # rows) and none of them is garbage: collector passes over them cost 50-80 ms of the first
        # frame. The fleet screen freezes what start-up made and turns the collector back on
        # right after its first frame (ui.collector.startup_done).
        gc.disable()
    with Runtime.open(args) as rt:
        if (
            args.logout
            or args.list
            or args.connect
            or args.db
            or args.sessions
            or args.terminate
            or args.run
        ):
            _recover(rt)  # the TUI does this in a worker, after its first frame
        if sys.stdin.isatty() and (args.list or args.connect or args.run):
            from sessiontui.commands.sso_login import sign_in_prompt

            rt.on_sign_in = sign_in_prompt(args, _say, rt.clock)  # Identity Center, when needed
        if args.logout:
            _say(f"removed {rt.logout()} cached credential file(s)")
            return 0
        if args.list:
            return _list(rt, args)
        if args.doctor:
            from sessiontui.commands.doctor import run_doctor

            return run_doctor(rt, args.json, _emit, ask=_ask_code)
        if args.request_access:
            from sessiontui.commands.request_access import request_access

            return request_access(rt, args, _say, _emit)
        if args.credentials:
            from sessiontui.commands.credentials import credentials_json

            # without a terminal there is nobody to ask: the role's error then says what would do
            ask = _ask_code_tty if _has_tty() else None
            found = credentials_json(
                rt, args.credentials, ask=ask, on_wait=_tty_countdown, warn=_say
            )
            _emit(found)
            if cache_tried:  # a bare credential_process line: the next one answers from the memo
                _leave_memo(args.credentials)
            return 0
        if args.sessions or args.terminate:
            from sessiontui.commands.sessions import run_sessions

            return run_sessions(rt, args, _say, _emit)
        if args.db:
            from sessiontui.commands.db import run_db

            return run_db(rt, args, _say, _emit, ask=_ask_code)
        if args.run is not None:
            from sessiontui.commands.run import run_command

            return run_command(rt, args, _say, _emit, ask=_ask_code, ask_line=_ask_line)
        if args.connect:
            from sessiontui.commands.connect import connect

            return connect(rt, args, _say, _emit, ask=_ask_code, ask_line=_ask_line)
        if args.ssh_proxy or args.ssh_config:
            from sessiontui.commands import ssh_proxy as ssh

            if args.ssh_proxy:  # stdout is ssh's protocol stream: nothing of ours goes there
                return ssh.ssh_proxy(rt, args, _say)
            return ssh.ssh_config(rt, args, _say, _emit, _ask_code)
        _require_terminal()
        from sessiontui.ui.launch import run_tui

        return run_tui(rt)


def _leave_memo(role: str) -> None:
    """Leave the memo of the credentials just handed out (cached_json decides, as for the next
    call); the answer already went out, so nothing here may fail the command."""
    from sessiontui.commands.credentials import cached_json

    try:
        cached_json(role)
    except Exception:
        return


def _recover(rt: object) -> None:
    """Terminate the sessions a killed sessiontui left open, and say which."""
    from sessiontui.runtime import Runtime

    assert isinstance(rt, Runtime)
    try:
        lines = rt.recover_sessions()
    except Exception as exc:  # never the reason a command fails: the journal stays for next time
        lines = [f"could not check the session journal: {exc}"]
    for line in lines:
        _say(line)


def _require_terminal() -> None:
    """The TUI draws on a terminal and reads keys from one; in a pipe it would write escapes."""
    missing = [name for name, f in (("stdin", sys.stdin), ("stdout", sys.stdout)) if not _tty(f)]
    if missing:
        raise UsageError(
            f"the TUI needs a terminal, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not one",
            "in scripts and pipes use --list [--json] or --connect TARGET",
        )


def _tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


def _list(rt: object, args: argparse.Namespace) -> int:
    from sessiontui.runtime import Runtime

    assert isinstance(rt, Runtime)
    nodes, warnings = rt.list_nodes(ask=_ask_code, on_wait=_mfa_countdown, on_retry=_say)
    for w in warnings:
        _say(f"warning: {w}")
    if args.json:
        from sessiontui.core.untrusted import json_text

        sys.stdout.write(json_text([n.to_json() for n in nodes], indent=2) + "\n")
    else:
        sys.stdout.write(format_table(nodes))
    return 0


# -- the terminal, which the headless paths own (the TUI owns it otherwise) ----------------------


def _say(line: str) -> None:
    """For the person: stderr, so stdout stays clean for scripts."""
    from sessiontui.core.untrusted import terminal_text

    print(f"sessiontui: {terminal_text(line)}", file=sys.stderr, flush=True)


def _emit(line: str) -> None:
    """For scripts: one line on stdout, flushed at once (a forward's ready line)."""
    print(line, flush=True)


def _ask_code(serial: str) -> str | None:
    """Our own MFA prompt (never botocore's), only when a person is at the terminal."""
    if not sys.stdin.isatty():
        return None
    import getpass

    try:
        return getpass.getpass(f"MFA code for {serial}: ", stream=sys.stderr).strip() or None
    except (EOFError, KeyboardInterrupt):
        return None


def _open_tty() -> int | None:
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:  # no controlling terminal: a CI job, a daemon
        return None


def _has_tty() -> bool:
    fd = _open_tty()
    if fd is not None:
        os.close(fd)
    return fd is not None


def _ask_code_tty(serial: str) -> str | None:
    """--credentials: stdout (and often stderr) is the calling tool's pipe, so the prompt and the
    answer go through the terminal itself."""
    import getpass

    try:  # with no stream, getpass prompts and reads on /dev/tty
        return getpass.getpass(f"sessiontui: MFA code for {serial}: ").strip() or None
    except (EOFError, KeyboardInterrupt):
        return None


def _tty_countdown(seconds_left: int) -> None:
    fd = _open_tty()
    if fd is None:
        return
    end = "\n" if seconds_left <= 0 else ""
    os.write(
        fd, f"\rsessiontui: waiting {seconds_left:2d}s for the next MFA code window{end}".encode()
    )
    os.close(fd)


class _Cancelled(KeyboardInterrupt):
    """Ctrl-C at one of our prompts: the operator changed their mind (exit 130, "cancelled")."""


def _ask_line(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        print(prompt, end="", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip() or None
    except EOFError:
        return None
    except KeyboardInterrupt:
        print(file=sys.stderr)  # off the prompt's line
        raise _Cancelled from None


def _mfa_countdown(seconds_left: int) -> None:
    if sys.stderr.isatty():
        end = "\n" if seconds_left <= 0 else ""
        print(
            f"\rsessiontui: waiting {seconds_left:2d}s for the next MFA code window",
            end=end,
            file=sys.stderr,
            flush=True,
        )


COLUMNS = ("NAME", "ID", "PING", "PLATFORM", "PROJECT", "ROLE", "IP", "REGION")
CELL_MAX = 64  # a tag value may be 256 characters: a longer cell is cut, the row stays readable


def format_table(nodes: Sequence[Node]) -> str:
    from sessiontui.core.untrusted import terminal_text

    accounts = any(n.account_label for n in nodes)  # a fleet across accounts says whose node
    columns = (*COLUMNS, "ACCOUNT") if accounts else COLUMNS
    # every cell is text from AWS: one row a node, controls visible, no cell wider than CELL_MAX
    rows = [
        tuple(
            terminal_text(cell, CELL_MAX)
            for cell in (
                n.display_name,
                n.id,
                n.ping_status or ("-" if n.managed else "no agent"),
                n.platform or "-",
                n.tag_cell("project"),
                n.tag_cell("Role"),
                n.private_ip or "-",
                n.region,
                *((n.account_label or "-",) if accounts else ()),
            )
        )
        for n in nodes
    ]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    widths[0] = min(widths[0], 40)

    def line(cells: Sequence[str]) -> str:
        first = cells[0] if len(cells[0]) <= widths[0] else cells[0][: widths[0] - 1] + "…"
        return "  ".join(
            [first.ljust(widths[0])]
            + [c.ljust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        ).rstrip()

    return "\n".join([line(columns), *(line(r) for r in rows)]) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
