"""`python -m sessiontui_sandbox`: run a sandbox in the foreground and print its environment."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType


def main(argv: list[str] | None = None) -> int:
    from sessiontui_sandbox import approver

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in approver.COMMANDS:  # the demo's approver, from another terminal
        return approver.main(argv)
    parser = argparse.ArgumentParser(
        prog="python -m sessiontui_sandbox",
        description="Run the sessiontui sandbox (local AWS) until Ctrl-C; "
        "eval its output to point a shell at it.",
    )
    parser.add_argument("--fleet", choices=["demo", "large", "empty"], default="demo")
    parser.add_argument("--size", type=int, default=None, help="nodes for --fleet large")
    parser.add_argument(
        "--accounts", type=int, default=1, help="spread --fleet large over this many accounts"
    )
    parser.add_argument(
        "--regions",
        default=None,
        help="comma-separated regions the fleet spreads over (default: us-east-1,eu-west-1)",
    )
    parser.add_argument(
        "--sso-auto-approve",
        action="store_true",
        help="approve Identity Center sign-in codes without the verification page",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    from sessiontui_sandbox.server import Sandbox

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if args.accounts < 1:
        parser.error("--accounts must be at least 1")
    regions = [r.strip() for r in args.regions.split(",") if r.strip()] if args.regions else None
    if regions is not None:
        from sessiontui_sandbox.regions import known_regions

        unknown = [r for r in regions if r not in known_regions()]
        if unknown or not regions or len(set(regions)) != len(regions):
            parser.error(f"--regions: give distinct AWS regions (not {', '.join(unknown)})")
    with Sandbox(
        fleet=args.fleet,
        size=args.size,
        host=args.host,
        port=args.port,
        accounts=args.accounts,
        regions=regions,
    ) as sb:
        sb.sso_auto_approve = args.sso_auto_approve
        sb.announce()
        shown = {**sb.env(), approver.TOKEN_ENV: sb.control_token}  # the approver's secret
        for key, value in sorted(shown.items()):
            print(f"export {key}={shlex.quote(value)}")
        approval = (
            "approved automatically (--sso-auto-approve)"
            if sb.sso_auto_approve
            else f"approved at {sb.endpoint_url}/_sandbox/device"
        )
        print(
            f"# Identity Center: start URL {sb.sso_start_url}, user operator@example.com; "
            f"sign-in codes are {approval}"
        )
        print(
            f"# sandbox on {sb.endpoint_url}, started in {sb.start_seconds:.2f}s; "
            f"current MFA code: {sb.totp_now()}; Ctrl-C stops it",
            flush=True,
        )
        print(
            "# approve just-in-time access requests from another terminal: "
            f"{approver.approve_command('oi-…', sb.endpoint_url)} (or reject, revoke; "
            "`requests` lists them)",
            flush=True,
        )
        from sessiontui_sandbox.sshd import ssh_hint

        print(ssh_hint(sb.ssh), flush=True)
        while not stop.wait(0.5):
            pass
    print("# sandbox stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
