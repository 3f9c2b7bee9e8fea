"""Stand-in for session-manager-plugin, keeping its process contract (ssm-plugin-contract.md).

Run as a program (by path, see plugin_wrapper). It speaks the real data channel (the sandbox's
websocket, sandbox/datachannel) through fakeplugin_client, as AWS's plugin does; it imports the
standard library, websockets and a few small sandbox modules (never moto), so it starts fast.
Where it differs from AWS's plugin on purpose (raw tty, `~.`/`~?` from 1.2.835.0) the contract
says so; docs/plugin-fidelity.md lists what the real plugin taught it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import termios
import threading
import tty
from typing import Any

from sessiontui_sandbox.datachannel import frames, smux
from sessiontui_sandbox.fakeplugin_client import SHELL_TYPES, DataChannelClient
from sessiontui_sandbox.fakeplugin_support import (
    ESCAPE_HELP,
    ESCAPES_FROM,
    Escapes,
    SsmApi,
    version_tuple,
)

DEFAULT_VERSION = "1.2.707.0"
VERSION_ENV = "SESSIONTUI_FAKE_PLUGIN_VERSION"
RESPONSE_PREFIX = "AWS_SSM_START_SESSION_RESPONSE"

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


def hang() -> None:
    """What the real plugin does when nothing comes: nothing, until killed."""
    while True:
        signal.pause()


# --- shell sessions ----------------------------------------------------------------------------


def _winsize(fd: int) -> tuple[int, int] | None:
    """(cols, rows) of a terminal, or None."""
    try:
        rows, cols, _, _ = struct.unpack(
            "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        )
    except OSError:
        return None
    return (cols, rows) if cols and rows else None


def run_shell(client: DataChannelClient) -> None:
    stdin_tty = os.isatty(0)
    saved = termios.tcgetattr(0) if stdin_tty else None

    def restore() -> None:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSADRAIN, saved)

    client.before_exit = restore

    def write_out(msg: frames.ClientMessage) -> None:
        # Every payload after the handshake goes to stdout raw, whatever its type (§7).
        with _out_lock:
            os.write(1, msg.payload)

    def as_key(byte: bytes) -> Any:
        def handler(_sig: int, _frame: Any) -> None:
            threading.Thread(target=client.send_output, args=(byte,), daemon=True).start()

        return handler

    def send_size() -> None:
        size = _winsize(0) if stdin_tty else None
        cols, rows = size or (300, 100)  # the real plugin's fallback
        client.send_size(cols, rows)

    def on_winch(_sig: int, _frame: Any) -> None:
        threading.Thread(target=send_size, daemon=True).start()

    def killed(sig: int, _frame: Any) -> None:
        # As the real plugin: dies of the signal without ending the session server-side.
        restore()
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    signal.signal(signal.SIGINT, as_key(b"\x03"))
    signal.signal(signal.SIGQUIT, as_key(b"\x1c"))
    signal.signal(signal.SIGTSTP, as_key(b"\x1a"))
    signal.signal(signal.SIGWINCH, on_winch)
    signal.signal(signal.SIGTERM, killed)
    signal.signal(signal.SIGHUP, killed)
    if stdin_tty:
        tty.setraw(0)
    send_size()
    client.set_handler(write_out)
    escapes = Escapes() if version_tuple(_version()) >= ESCAPES_FROM else None
    while True:
        try:
            data = os.read(0, frames.MAX_CHUNK)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            restore()
            say("Cannot perform start session: EOF\n")
            os._exit(0)
        if escapes is not None:
            data, command = escapes.feed(data)
            if command == "?":
                say(ESCAPE_HELP)
            elif command == ".":
                if data:
                    client.send_output(data)
                client.send_flag(frames.FLAG_TERMINATE_SESSION)
                restore()
                say(f"\n\nExiting session with sessionId: {client.session_id}.\n\n")
                os._exit(0)
        if data:
            client.send_output(data)


# --- port sessions -----------------------------------------------------------------------------


def _pump_local(conn: socket.socket, send: Any, done: Any) -> None:
    try:
        while True:
            data = conn.recv(frames.MAX_CHUNK)
            if not data:
                break
            send(data)
    except OSError:
        pass
    done()


def _listen(props: dict[str, Any]) -> socket.socket:
    local = int(str(props.get("localPortNumber") or "0") or 0)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's net.Listen does
    try:
        listener.bind(("127.0.0.1", local))
    except OSError:
        hang()  # the real plugin hangs silently when the local port is taken
    listener.listen(16)
    return listener


def _exit_with_flag(client: DataChannelClient) -> None:
    client.send_flag(frames.FLAG_TERMINATE_SESSION)
    say(f"\n\nExiting session with sessionId: {client.session_id}.\n\n")
    os._exit(0)


def run_mux(client: DataChannelClient) -> None:
    """Current agents: every local connection is one smux v1 stream inside the Output bytes."""
    listener = _listen(client.properties)
    streams: dict[int, socket.socket] = {}
    lock = threading.Lock()
    reader = smux.Reader()

    def on_output(msg: frames.ClientMessage) -> None:
        if msg.payload_type == frames.P_FLAG:
            if msg.flag == frames.FLAG_CONNECT_TO_PORT_ERROR:
                say("\nConnection to destination port failed, check SSM Agent logs.\n")
            return
        try:
            parsed = reader.feed(msg.payload)
        except smux.ProtocolError:
            say("Cannot perform start session: invalid protocol\n")
            os._exit(0)
        for cmd, sid, body in parsed:
            with lock:
                conn = streams.get(sid)
            if conn is None:
                continue
            if cmd == smux.PSH:
                with contextlib.suppress(OSError):
                    conn.sendall(body)
            elif cmd == smux.FIN:
                with lock:
                    streams.pop(sid, None)
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()

    def on_sigint(_sig: int, _frame: Any) -> None:
        say("Terminate signal received, exiting.\n")
        _exit_with_flag(client)

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGQUIT, on_sigint)
    signal.signal(signal.SIGTSTP, on_sigint)
    client.set_handler(on_output)
    say(f"Port {listener.getsockname()[1]} opened for sessionId {client.session_id}.\n")
    say("\nWaiting for connections...\n")
    next_sid = 3  # smux client stream ids: odd, from 3
    accepted = False
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        if not accepted:
            accepted = True
            say(f"\nConnection accepted for session [{client.session_id}]\n")
        sid, next_sid = next_sid, next_sid + 2
        with lock:
            streams[sid] = conn
        client.send_output(smux.frame(smux.SYN, sid))

        def done(sid: int = sid, conn: socket.socket = conn) -> None:
            # As AWS's plugin: a local EOF closes the stream both ways (no half-close), so a
            # reply still on its way is lost.
            with lock:
                open_still = streams.pop(sid, None) is not None
            if open_still:
                client.send_output(smux.frame(smux.FIN, sid))
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

        def send(data: bytes, sid: int = sid) -> None:
            client.send_output(smux.push(sid, data))

        threading.Thread(target=_pump_local, args=(conn, send, done), daemon=True).start()


def run_basic(client: DataChannelClient) -> None:
    """Old agents: one local connection at a time, its bytes raw in the Output payloads."""
    listener = _listen(client.properties)
    current: list[socket.socket] = []
    pending: list[bytes] = []  # output before the first local connection: kept for it
    lock = threading.Lock()

    def on_output(msg: frames.ClientMessage) -> None:
        with lock:
            if not current:
                pending.append(msg.payload)
                return
            conn = current[0]
        with contextlib.suppress(OSError):
            conn.sendall(msg.payload)

    def on_sigint(_sig: int, _frame: Any) -> None:
        say("Terminate signal received, exiting.\n")
        if frames.version_gt(client.agent_version, frames.TERMINATE_FLAG_AFTER):
            _exit_with_flag(client)
        # Older agents: the API, then wait for the server's channel_closed (§10).
        client.api.call("TerminateSession", {"SessionId": client.session_id})

    signal.signal(signal.SIGINT, on_sigint)
    client.set_handler(on_output)
    say(f"Port {listener.getsockname()[1]} opened for sessionId {client.session_id}.\n")
    first = True
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        if first:
            first = False
            say(f"Connection accepted for session {client.session_id}.\n")
        with lock:
            current[:] = [conn]
            held, pending[:] = list(pending), []
        with contextlib.suppress(OSError):
            conn.sendall(b"".join(held))
        _pump_local(conn, client.send_output, lambda: None)
        with lock:
            current.clear()
        conn.close()
        client.send_flag(frames.FLAG_DISCONNECT_TO_PORT)


def run_streams(client: DataChannelClient) -> None:
    """Standard-stream forwarding (AWS-StartSSHSession): stdin to the port, the port to stdout."""

    def on_output(msg: frames.ClientMessage) -> None:
        with _out_lock:
            os.write(1, msg.payload)

    client.set_handler(on_output)
    while True:
        try:
            data = os.read(0, frames.MAX_CHUNK)
        except InterruptedError:
            continue
        if not data:
            os._exit(0)  # stdin closed: done, without a word
        client.send_output(data)


# --- entry point -------------------------------------------------------------------------------


def _read_response(arg: str) -> dict[str, Any]:
    if arg.startswith(RESPONSE_PREFIX):
        raw = os.environ.pop(arg, "")  # the real plugin unsets it once read
        for name in [k for k in os.environ if k.startswith(RESPONSE_PREFIX)]:
            os.environ.pop(name, None)
    else:
        raw = arg
    try:
        data: dict[str, Any] = json.loads(raw)  # checked below, as the plugin would
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
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # no handler before the handshake, as in Go
    client = DataChannelClient(
        session_id,
        response["StreamUrl"],
        response["TokenValue"],
        _version(),
        SsmApi(args[1], args[5]),
        say,
    )
    if not client.dial():
        hang()  # the real plugin carries on and waits forever for a session type
    client.start()
    client.ready.wait()  # a silent agent: forever
    kind = client.session_type
    if kind in SHELL_TYPES:
        run_shell(client)
    elif kind == "Port":
        if client.properties.get("type") != "LocalPortForwarding":
            run_streams(client)
        elif frames.version_gt(client.agent_version, frames.MUX_AFTER):
            run_mux(client)
        else:
            run_basic(client)
    else:
        say("Cannot perform start session: unable to determine SessionType\n")
        os._exit(0)


if __name__ == "__main__":
    main()
