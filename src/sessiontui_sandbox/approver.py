"""The demo's approver: `python -m sessiontui_sandbox approve|reject|revoke oi-... [--reason T]`
and `python -m sessiontui_sandbox requests`, acting on a running sandbox from another terminal.

Which sandbox: `--endpoint URL` when given; else `AWS_ENDPOINT_URL` (set in a shell that ran the
sandbox's `export` lines); else the endpoint file a foreground sandbox (`sessiontui --demo`,
`python -m sessiontui_sandbox`) writes at start and removes at stop:
`<user state dir>/sessiontui/sandbox.json` (e.g. ~/.local/state/sessiontui/sandbox.json), so a
second terminal with nothing set finds the demo. With several demos running, the newest wrote it.

The control calls carry the sandbox's secret (sandbox/local_guard.py): from $SESSIONTUI_SANDBOX_TOKEN
(`python -m sessiontui_sandbox` prints it as an export line), else from the endpoint file (0600)
when it names the same sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ACTIONS = ("approve", "reject", "revoke")
TOKEN_ENV = "SESSIONTUI_SANDBOX_TOKEN"
COMMANDS = (*ACTIONS, "requests")


def endpoint_file() -> Path:
    from sessiontui.stores.paths import state_dir

    return state_dir() / "sandbox.json"


def own_file(endpoint_url: str) -> Path:
    """This sandbox's own endpoint file, which no other sandbox replaces: the printed approver
    command names the endpoint, and finds the control secret here."""
    from urllib.parse import urlsplit

    from sessiontui.stores.paths import state_dir

    port = urlsplit(endpoint_url).port or 0
    return state_dir() / "sandboxes" / f"{port}.json"


def announce(endpoint_url: str, control_token: str) -> Path | None:
    """Write where this sandbox listens and its control secret, for the approver's command
    (0600 files: the newest sandbox's, and this one's own); None if it cannot."""
    from sessiontui.stores.paths import write_private

    path = endpoint_file()
    data = {"endpoint_url": endpoint_url, "pid": os.getpid(), "control_token": control_token}
    try:
        write_private(own_file(endpoint_url), json.dumps(data) + "\n")
        write_private(path, json.dumps(data) + "\n")
    except OSError:
        return None
    return path


def forget(path: Path, endpoint_url: str) -> None:
    """Remove this sandbox's own file, and the newest-sandbox file if it still names this one."""
    with contextlib.suppress(OSError):
        own_file(endpoint_url).unlink()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("endpoint_url") == endpoint_url:
            path.unlink()


def approve_command(request_id: str, endpoint_url: str | None = None) -> str:
    """The line the demo prints for its approver, naming its own sandbox: the endpoint file is
    one per user, replaced by the newest sandbox and removed when any stops."""
    return sandbox_command("approve", request_id, endpoint_url=endpoint_url)


def sandbox_command(*words: str, endpoint_url: str | None = None) -> str:
    """`python -m sessiontui_sandbox WORDS [--endpoint URL]`, with this interpreter when the
    `python` on PATH is another one (a pipx or venv install)."""
    import shlex
    import shutil

    on_path = shutil.which("python")
    # the paths as written, not resolved: every venv's python is a link to one base interpreter,
    # so another venv's (without this package) resolved to ours and the printed line failed
    same = on_path is not None and os.path.abspath(on_path) == os.path.abspath(sys.executable)
    python = "python" if same else shlex.quote(sys.executable)
    line = " ".join([python, "-m", "sessiontui_sandbox", *words])
    if endpoint_url:
        line += f" --endpoint {shlex.quote(endpoint_url)}"
    return line


class ApproverError(Exception):
    pass


def find_endpoint(given: str | None) -> tuple[str, str]:
    """(endpoint url, where it came from)."""
    if given:
        return given.rstrip("/"), "--endpoint"
    env = os.environ.get("AWS_ENDPOINT_URL")
    if env:
        return env.rstrip("/"), "AWS_ENDPOINT_URL"
    path = endpoint_file()
    try:
        url = str(json.loads(path.read_text(encoding="utf-8"))["endpoint_url"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ApproverError(
            f"no running sandbox found: {path} is missing, and neither --endpoint nor "
            "AWS_ENDPOINT_URL is set (start one with `sessiontui --demo`)"
        ) from None
    return url.rstrip("/"), str(path)


def find_token(endpoint_url: str) -> str:
    """The control secret of the sandbox at `endpoint_url`, or "" when nothing says it."""
    env = os.environ.get(TOKEN_ENV)
    if env:
        return env
    for path in (own_file(endpoint_url), endpoint_file()):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if str(data["endpoint_url"]).rstrip("/") == endpoint_url:
                return str(data["control_token"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return ""


def _call(url: str, body: dict[str, Any] | None, source: str, token: str) -> Any:
    from sessiontui_sandbox.local_guard import bearer

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    req.add_header("Content-Type", "application/json")
    for name, value in bearer(token).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or str(exc)
        except ValueError:
            message = str(exc)
        raise ApproverError(str(message)) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ApproverError(f"no sandbox answers at {url} (from {source}): {exc}") from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sessiontui_sandbox",
        description="Act as the demo's approver of just-in-time node access requests.",
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("request_id", nargs="?", metavar="oi-…")
    parser.add_argument("--reason", default="", help="why (reject, revoke)")
    parser.add_argument("--hours", type=int, help="approve: access for this long (1-336)")
    parser.add_argument("--endpoint", help="the sandbox's URL (default: see the docs)")
    args = parser.parse_args(argv)
    try:
        base, source = find_endpoint(args.endpoint)
        token = find_token(base)
        if args.command == "requests":
            rows = _call(f"{base}/_sandbox/access", None, source, token)["access_requests"]
            for r in rows:
                targets = ",".join(r["node_ids"])
                print(f"{r['access_request_id']}  {r['status']:<8}  {targets}  {r['reason']}")
            if not rows:
                print("no access requests")
            return 0
        if not args.request_id:
            parser.error(f"{args.command} needs the request's id (oi-…)")
        body: dict[str, Any] = {args.command: args.request_id}
        if args.reason:
            body["reason"] = args.reason
        if args.hours is not None:
            body["hours"] = args.hours
        _call(f"{base}/_sandbox/control", body, source, token)
    except ApproverError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    past = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}[args.command]
    print(f"{args.request_id} {past}")
    return 0
