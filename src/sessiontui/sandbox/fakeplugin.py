"""Stand-in for session-manager-plugin, keeping its process contract (ssm-plugin-contract.md).

Run as a program (by path, see plugin_wrapper). It imports only the standard library and two
small sandbox modules (fakeplugin_support, sigv4); the sandbox package loads moto lazily, so the
stand-in starts in about 0.1 s. The "websocket" is the sandbox's stream endpoint
(docs/architecture.md): GET it to learn the session, POST /close when it ends (after its own
signed TerminateSession), poll it to notice a TerminateSession from elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import shlex
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import time
import tty
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from sessiontui.sandbox.fakeplugin_support import (
    ESCAPE_HELP,
    ESCAPES_FROM,
    Escapes,
    SsmApi,
    version_tuple,
)

DEFAULT_VERSION = "1.2.707.0"
VERSION_ENV = "SESSIONTUI_FAKE_PLUGIN_VERSION"
RESPONSE_PREFIX = "AWS_SSM_START_SESSION_RESPONSE"
SHELL_DOCUMENTS = ("", "SSM-SessionManagerRunShell")
POLL_SECONDS = 0.5

_out_lock = threading.Lock()


def _version() -> str:
    return os.environ.get(VERSION_ENV) or DEFAULT_VERSION


def say(text: str) -> None:
    with _out_lock:
        os.write(1, text.encode("utf-8"))


def panic(message: str) -> None:
    """What a Go nil dereference looks like to the caller: text on stderr, exit status 2."""
    sys.stderr.write(
        f"panic: {message}\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]\n\n"
        "goroutine 1 [running]:\nmain.main()\n\t/session-manager-plugin/src/sessionmanagerplugin/"
        "session/session.go:1 +0x1\nexit status 2\n"
    )
    sys.stderr.flush()
    os._exit(2)


class Stream:
    """The session's stream endpoint, with its bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def _request(self, url: str, data: bytes | None = None) -> dict[str, Any]:
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body or b"{}")

    def get(self) -> dict[str, Any]:
        return self._request(self.url)

    def close(self, reason: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._request(self.url.rstrip("/") + "/close", json.dumps({"reason": reason}).encode())


class Session:
    def __init__(
        self, session_id: str, stream: Stream, info: dict[str, Any], api: SsmApi | None = None
    ) -> None:
        self.id = session_id
        self.stream = stream
        self.info = info
        self.api = api
        self.closing = threading.Event()  # we are ending it ourselves: ignore Terminated polls
        self.ended_by_server: str | None = None
        self.on_server_end: list[Any] = []
        self.scratch: list[str] = []  # folders made for this session, gone when it ends

    def _clean(self) -> None:
        for path in self.scratch:
            shutil.rmtree(path, ignore_errors=True)

    def poll_forever(self) -> None:
        while not self.closing.is_set():
            time.sleep(POLL_SECONDS)
            try:
                state = self.stream.get()
            except (OSError, ValueError):
                continue  # a blip in the sandbox; the real plugin would try to reconnect
            if state.get("status") == "Terminated" and not self.closing.is_set():
                self.ended_by_server = str(state.get("reason") or "Session terminated")
                for hook in self.on_server_end:
                    hook()
                return

    def exit_server_ended(self) -> None:
        say(f"\n\nSessionId: {self.id} : {self.ended_by_server}\n\n")
        self._clean()
        os._exit(0)

    def exit_normally(self, reason: str) -> None:
        self.closing.set()
        if self.api is not None:
            self.api.call("TerminateSession", {"SessionId": self.id})
        self.stream.close(reason)  # the data channel; alone it leaves the session Disconnected
        say(f"\n\nExiting session with sessionId: {self.id}.\n\n")
        self._clean()
        os._exit(0)


# --- shell documents ---------------------------------------------------------------------------


def _winsize(fd: int) -> bytes | None:
    try:
        return fcntl.ioctl(fd, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    except OSError:
        return None


def _rcfile(home: str) -> str:
    rc = os.path.join(home, ".sessiontui_rc")
    with open(rc, "w", encoding="utf-8") as fh:
        fh.write(
            # The node name comes from the environment so no quoting of it is ever needed.
            'PS1="ssm-user@${SSM_NODE_NAME}:\\w\\$ "\n'
            'hostname() { printf "%s\\n" "$SSM_NODE_NAME"; }\n'
            "export -f hostname\n"
            f"cd {shlex.quote(home)}\n"
        )
    return rc


def run_shell(session: Session) -> None:
    node = str(session.info.get("node_name") or session.info.get("target") or "node")
    home = tempfile.mkdtemp(prefix="ssm-user-")
    session.scratch.append(home)
    rc = _rcfile(home)
    env = {
        "HOME": home,
        "USER": "ssm-user",
        "LOGNAME": "ssm-user",
        "SHELL": "/bin/bash",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": os.environ.get("TERM", "xterm-256color"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "SSM_NODE_NAME": node,
    }
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvpe("bash", ["bash", "--noprofile", "--rcfile", rc, "-i"], env)
        finally:
            os._exit(127)

    stdin_tty = os.isatty(0)
    size = _winsize(0) if stdin_tty else None
    if size:
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)

    def on_winch(_sig: int, _frame: Any) -> None:
        ws = _winsize(0)
        if ws:
            with contextlib.suppress(OSError):
                fcntl.ioctl(master, termios.TIOCSWINSZ, ws)

    def as_key(byte: bytes) -> Any:
        # Without a raw terminal, a signal from the keyboard still reaches the remote side as a key.
        def handler(_sig: int, _frame: Any) -> None:
            with contextlib.suppress(OSError):
                os.write(master, byte)

        return handler

    def killed(sig: int, _frame: Any) -> None:
        # The real plugin dies here without ending the session server-side (the contract); only
        # the scratch home and the shell go with it, then the signal takes its default course.
        kill_shell()
        restore()
        session._clean()
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    signal.signal(signal.SIGWINCH, on_winch)
    signal.signal(signal.SIGINT, as_key(b"\x03"))
    signal.signal(signal.SIGQUIT, as_key(b"\x1c"))
    signal.signal(signal.SIGTSTP, as_key(b"\x1a"))

    saved = termios.tcgetattr(0) if stdin_tty else None

    def restore() -> None:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSADRAIN, saved)

    def kill_shell() -> None:
        for sig in (signal.SIGHUP, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            time.sleep(0.05)

    def server_ended() -> None:
        kill_shell()
        restore()
        session.exit_server_ended()

    session.on_server_end.append(server_ended)
    signal.signal(signal.SIGTERM, killed)
    signal.signal(signal.SIGHUP, killed)
    threading.Thread(target=session.poll_forever, daemon=True).start()

    if stdin_tty:
        tty.setraw(0)
    stdin_open = True
    escapes = Escapes() if version_tuple(_version()) >= ESCAPES_FROM else None
    ended_by_escape = False
    try:
        while True:
            fds = [master] + ([0] if stdin_open else [])
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                with _out_lock:
                    os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    stdin_open = False  # our input ended; the shell sees EOF
                    with contextlib.suppress(OSError):
                        os.write(master, b"\x04")
                    continue
                if escapes is not None:
                    data, command = escapes.feed(data)
                    if command == "?":
                        say(ESCAPE_HELP)
                    elif command == ".":
                        ended_by_escape = True
                        break
                os.write(master, data)
    finally:
        restore()
    if ended_by_escape:
        kill_shell()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    if session.ended_by_server is not None:
        session.exit_server_ended()
    session.exit_normally(
        "Session ended: ~. typed" if ended_by_escape else "Session ended: the shell exited"
    )


# --- port forward documents --------------------------------------------------------------------


def _param(params: dict[str, Any], name: str, default: str) -> str:
    value = params.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else default


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve_client(session: Session, client: socket.socket) -> None:
    dest = session.info.get("destination")
    if not dest:
        say("\nConnection to destination port failed, check SSM Agent logs.\n")
        client.close()
        return
    try:
        upstream = socket.create_connection((dest["host"], int(dest["port"])), timeout=5)
        upstream.settimeout(None)
    except OSError:
        say("\nConnection to destination port failed, check SSM Agent logs.\n")
        client.close()
        return
    t = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    t.start()
    _pipe(client, upstream)
    t.join()
    client.close()
    upstream.close()


def run_forward(session: Session, params: dict[str, Any]) -> None:
    local = int(_param(params, "localPortNumber", "0"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's net.Listen does
    try:
        listener.bind(("127.0.0.1", local))
    except OSError:
        # The real plugin hangs silently when the local port is taken; callers need a watchdog.
        while True:
            signal.pause()
    listener.listen(16)
    port = listener.getsockname()[1]

    def on_sigint(_sig: int, _frame: Any) -> None:
        say("Terminate signal received, exiting.\n")
        session.exit_normally("Terminated by the client")

    signal.signal(signal.SIGINT, on_sigint)
    session.on_server_end.append(session.exit_server_ended)
    threading.Thread(target=session.poll_forever, daemon=True).start()

    say(f"Port {port} opened for sessionId {session.id}.\n")
    say("Waiting for connections...\n")
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        say(f"\nConnection accepted for session [{session.id}]\n")
        threading.Thread(target=_serve_client, args=(session, client), daemon=True).start()


# --- entry point -------------------------------------------------------------------------------


def _read_response(arg: str) -> dict[str, Any]:
    if arg.startswith(RESPONSE_PREFIX):
        raw = os.environ.pop(arg, "")  # the real plugin unsets it once read
        for name in [k for k in os.environ if k.startswith(RESPONSE_PREFIX)]:
            os.environ.pop(name, None)
    else:
        raw = arg
    try:
        data = json.loads(raw)
    except ValueError as e:
        say(f"Cannot perform start session: {e}\n")
        os._exit(0)
    if not isinstance(data, dict):
        panic("runtime error: invalid memory address or nil pointer dereference")
    for key in ("SessionId", "TokenValue", "StreamUrl"):
        if not isinstance(data.get(key), str) or not data.get(key):
            panic("runtime error: invalid memory address or nil pointer dereference")
    return data


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        say(
            "\nThe Session Manager plugin was installed successfully. "
            "Use the AWS CLI to start a session.\n\n"
        )
        return
    if args == ["--version"]:
        say(_version() + "\n")
        return
    if len(args) < 6 or args[2] != "StartSession":
        op = args[2] if len(args) > 2 else args[0]
        say(
            f"\nUnknown operation {op}. \nUse session-manager-plugin --version to check the version.\n\n"
        )
        return
    response = _read_response(args[0])
    try:
        request = json.loads(args[4])
    except ValueError:
        request = None
    if not isinstance(request, dict) or not isinstance(request.get("Target"), str):
        panic("interface conversion: interface {} is nil, not string")
    session_id = response["SessionId"]
    say(f"\nStarting session with SessionId: {session_id}\n")

    stream = Stream(response["StreamUrl"], response["TokenValue"])
    try:
        info = stream.get()
    except urllib.error.HTTPError as e:
        say(f"Cannot perform start session: stream open failed: {e.code} {e.reason}\n")
        return
    except (OSError, ValueError) as e:
        say(f"Cannot perform start session: {e}\n")
        return
    session = Session(session_id, stream, info, SsmApi(args[1], args[5]))
    if info.get("agent") == "silent":
        # The websocket opened but the agent never answers: print nothing, hang until killed.
        while True:
            signal.pause()
    if info.get("status") == "Terminated":
        session.ended_by_server = str(info.get("reason") or "Session terminated")
        session.exit_server_ended()

    document = str(request.get("DocumentName") or info.get("document") or "")
    params = request.get("Parameters") or info.get("parameters") or {}
    if document.startswith("AWS-StartPortForwardingSession"):
        run_forward(session, params)
    else:
        run_shell(session)


if __name__ == "__main__":
    main()
