"""The flags: sessiontui's argparse parser, its usage text and its two-line usage errors.

Apart from `cli` so that the one call that must not pay for argparse, a held role's
`--credentials ROLE` (credential_process, before every AWS call), does not import it.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from sessiontui import __version__
from sessiontui.core.errors import ExitCode

EPILOG = """\
exit codes: 0 done, 1 unexpected (--doctor: something is missing), 2 usage/config/target (or
--demo without the sandbox extra), 3 authentication or authorisation, 4 node not connectable,
5 session-manager-plugin missing or failed, 6 local port in use, 7 --run: the command failed,
timed out or was undeliverable on some node

examples:
  sessiontui --demo                                   the TUI on the embedded sandbox
  sessiontui --list --json --tag project=Production   nodes as JSON
  sessiontui --connect web-01 --role ProdOps --reason "TICKET-1"
  sessiontui --connect i-0abc --forward 15432:db.internal:5432 --json
  sessiontui --request-access pay-api-01 --reason "INC-1234" && sessiontui --connect pay-api-01
  sessiontui --run 'uptime' --tag project=Production --role ProdOps --reason "TICKET-1" --json
  sessiontui --sso-login my-sso                       Identity Center sign-in (as aws sso login)
  scp -o ProxyCommand='sessiontui --ssh-proxy %h %p --role ProdOps' FILE web-01:/tmp/
"""


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in two lines: what is wrong, then the flag meant or where the flags are
    (the full usage is fifteen lines, and the line that matters came last)."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"sessiontui: {message}\n  {self.suggestion(message)}\n")

    def suggestion(self, message: str) -> str:
        import difflib
        import re

        flags = sorted(set(re.findall(r"--[a-z][a-z-]*", self.format_usage())))

        if message.startswith("unrecognized arguments:"):
            for word in message.removeprefix("unrecognized arguments:").split():
                if word.startswith("--"):
                    flag = word.split("=", 1)[0]
                    close = difflib.get_close_matches(flag, flags, n=1, cutoff=0.6)
                    if close:
                        return f"did you mean {close[0]}? (sessiontui --help lists every flag)"
        return "sessiontui --help lists every flag"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sessiontui",
        description="AWS Systems Manager fleets in the terminal: JIT roles with MFA, shells, port forwards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"sessiontui {__version__}")
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against the embedded sandbox (local moto; AWS's plugin when installed)",
    )
    p.add_argument(
        "--plugin",
        choices=("stand-in", "real"),
        help="with --demo: the sandbox's stand-in plugin, or AWS's session-manager-plugin",
    )
    p.add_argument(
        "--profile", metavar="P", help="AWS profile (default: AWS_PROFILE or the default chain)"
    )
    p.add_argument("--region", metavar="R", action="append", help="region; repeat for several")
    p.add_argument(
        "--role",
        metavar="NAME",
        action="append",
        help="just-in-time role (config, ~/.aws/config) or Identity Center ACCOUNT/PERMISSION_SET;"
        " repeat for one fleet across accounts",
    )
    p.add_argument("--duration", metavar="D", help="role duration: 900s, 45m, 2h")
    p.add_argument("--mfa-code", metavar="CODE", help="six-digit MFA code, for non-interactive use")
    p.add_argument(
        "--reason", metavar="TEXT", help="reason recorded on StartSession and in the audit log"
    )
    p.add_argument(
        "--tag", metavar="K=V", action="append", default=[], help="narrow by tag; repeat to AND"
    )
    p.add_argument(
        "--filter", metavar="TEXT", default="", help="query: words, K=V, iam:ROLE, ping:online"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="print the nodes and exit")
    mode.add_argument(
        "--connect", metavar="TARGET", help="shell (or with --forward, a port forward) to one node"
    )
    mode.add_argument("--logout", action="store_true", help="wipe cached role credentials and exit")
    mode.add_argument(
        "--request-access",
        metavar="TARGET",
        action="append",
        help="just-in-time node access: request it (repeat for up to 5 nodes) with --reason",
    )
    p.add_argument(
        "--wait", metavar="D", help="with --request-access: wait this long (default 15m; 0: not)"
    )
    mode.add_argument(
        "--sso-login",
        metavar="SESSION",
        nargs="?",
        const="",
        help="Identity Center device sign-in (an sso-session of ~/.aws/config), as aws sso login",
    )
    p.add_argument(
        "--no-browser", action="store_true", help="with --sso-login: do not open a browser"
    )
    mode.add_argument(
        "--credentials",
        metavar="ROLE",
        help="print ROLE's credentials for credential_process in ~/.aws/config, and exit",
    )
    mode.add_argument(
        "--completion", choices=("bash", "zsh", "fish"), help="print a shell completion script"
    )
    # what the completion scripts call at TAB time: names from local files, no network
    p.add_argument("--complete-names", metavar="KIND", help=argparse.SUPPRESS)
    mode.add_argument(
        "--sessions", action="store_true", help="the operator's Active sessions (table or --json)"
    )
    mode.add_argument(
        "--terminate", metavar="SESSION_ID|all", help="end one of your Active sessions, or all"
    )
    mode.add_argument(
        "--ssh-proxy",
        nargs=2,
        metavar=("HOST", "PORT"),
        help="for ssh's ProxyCommand: AWS-StartSSHSession to HOST (id, Name, K=V) on PORT",
    )
    mode.add_argument(
        "--ssh-config", action="store_true", help="print Host blocks for ~/.ssh/config and exit"
    )
    mode.add_argument(
        "--db",
        metavar="NAME",
        help="a database (preset, identifier or endpoint) through its bastion: ready line",
    )
    p.add_argument(
        "--client", action="store_true", help="with --db: run the engine's client, signed in"
    )
    mode.add_argument(
        "--doctor",
        action="store_true",
        help="what is set up and what is missing (config, credentials, clock, plugin, and each"
        " access's Session Manager abilities); exit 0 all well, 1 otherwise",
    )
    mode.add_argument(
        "--run",
        metavar="CMD",
        help="Run Command: CMD on the nodes --target, --tag or --filter name",
    )
    p.add_argument("--target", metavar="NAME", help="with --run: one node (id, Name or K=V)")
    p.add_argument("--document", metavar="NAME", help="with --run: a Command document to run")
    p.add_argument(
        "--parameter",
        metavar="K=V",
        action="append",
        default=[],
        help="with --run --document: a parameter of the document; repeat",
    )
    p.add_argument(
        "--max-concurrency",
        metavar="N|N%",
        default="50",
        help="with --run: nodes at a time (AWS's default 50)",
    )
    p.add_argument(
        "--max-errors",
        metavar="N|N%",
        default="0",
        help="with --run: failures before AWS stops sending (AWS's default 0)",
    )
    p.add_argument(
        "--timeout", metavar="D", help="with --run: the script's execution timeout (900s, 45m)"
    )
    p.add_argument(
        "--forward", metavar="[LOCAL:][HOST:]REMOTE", help="with --connect: a port forward"
    )
    p.add_argument(
        "--json", action="store_true", help="JSON output (--list, or the ready line of --forward)"
    )
    return p
