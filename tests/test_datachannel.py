"""The sandbox's data channel spoken to directly, frame by frame, as AWS's plugin speaks it
(ssm-data-channel.md): auth by the OpenDataChannel token, the handshake, acks for every input
(duplicates too), resends of unacked output, channel_closed for server-side ends, state kept
across a dropped socket and ResumeSession, the silent agent, signed upgrades, smux and basic
ports to the sandbox's local services."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from sandbox_support import client
from sessiontui_sandbox import Sandbox, sigv4, sshd
from sessiontui_sandbox.datachannel import frames, smux
from sessiontui_sandbox.datachannel.frames import ClientMessage


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


def by_name(sb: Sandbox, name: str, region: str = "us-east-1") -> str:
    ec2 = client(sb, "ec2", region)
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return str(found["Reservations"][0]["Instances"][0]["InstanceId"])


class Peer:
    """The plugin's side, by hand: every frame visible, acks only when asked."""

    def __init__(self, url: str, token: str, headers: dict[str, str] | None = None) -> None:
        self.session_id = url.split("?")[0].rsplit("/", 1)[-1]
        self.ws: ClientConnection = connect(
            url, additional_headers=headers, open_timeout=5, legacy=True
        )
        self.ws.send(frames.open_data_channel(token, "test-client", "1.2.677.0"))
        self.seq = 0

    def recv(self, timeout: float = 5) -> ClientMessage:
        raw = self.ws.recv(timeout=timeout)
        assert isinstance(raw, bytes)
        msg = frames.decode(raw)
        assert msg is not None, "a frame the plugin would drop"
        return msg

    def recv_data(self, ack: bool = True, timeout: float = 5) -> ClientMessage:
        """The next output_stream_data (acks from the agent skipped)."""
        while True:
            msg = self.recv(timeout)
            if msg.message_type == frames.ACK:
                continue
            if ack and msg.message_type == frames.OUTPUT:
                self.ws.send(frames.ack_for(msg).encode())
            return msg

    def send(self, payload_type: int, payload: bytes, seq: int | None = None) -> int:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        self.ws.send(frames.data(frames.INPUT, seq, payload_type, payload).encode())
        return seq

    def handshake(self) -> dict[str, Any]:
        request = self.recv_data()
        assert request.payload_type == frames.P_HANDSHAKE_REQUEST and request.sequence == 0
        body = json.loads(request.payload)
        reply = {"ClientVersion": "1.2.677.0", "ProcessedClientActions": [], "Errors": None}
        self.send(frames.P_HANDSHAKE_RESPONSE, json.dumps(reply).encode())
        complete = self.recv_data()
        assert complete.payload_type == frames.P_HANDSHAKE_COMPLETE and complete.sequence == 1
        return dict(body)

    def read_until(self, marker: bytes, timeout: float = 10) -> bytes:
        out = b""
        deadline = time.monotonic() + timeout
        while marker not in out:
            msg = self.recv_data(timeout=max(0.1, deadline - time.monotonic()))
            if msg.message_type == frames.OUTPUT:
                out += msg.payload
        return out

    def closed_output(self, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv_data(timeout=max(0.1, deadline - time.monotonic()))
            if msg.message_type == frames.CHANNEL_CLOSED:
                return frames.closed_output(msg)


def admin(sb: Sandbox) -> Any:
    return client(sb, "ssm", creds=sb.role_credentials("FleetAdmin"))


def test_frames_round_trip_with_digest_and_swapped_uuid() -> None:
    msg = frames.data(frames.OUTPUT, 7, frames.P_OUTPUT, b"hello")
    raw = msg.encode()
    assert len(raw) == 120 + 5 and raw[:4] == (116).to_bytes(4, "big")
    assert raw[64:80] == msg.message_id.bytes[8:] + msg.message_id.bytes[:8]
    back = frames.decode(raw)
    assert back is not None and back.payload == b"hello" and back.sequence == 7
    assert back.message_id == msg.message_id and back.message_type == frames.OUTPUT
    tampered = raw[:-1] + b"!"
    assert frames.decode(tampered) is None  # a bad digest is dropped, as the plugin does
    assert frames.version_gt("3.3.987.0", frames.MUX_AFTER)
    assert not frames.version_gt("3.0.196.0", frames.MUX_AFTER)
    assert not frames.version_gt("3.3.987", frames.MUX_AFTER)  # other part count: false


def test_bad_token_and_unknown_paths_are_refused(sandbox: Sandbox) -> None:
    started = admin(sandbox).start_session(Target=by_name(sandbox, "dev-web-01"))
    url = started["StreamUrl"]
    assert url.startswith("ws://127.0.0.1:") and url.endswith("?role=publish_subscribe")
    peer = Peer(url, "wrong")
    with pytest.raises(ConnectionClosed):
        peer.recv()
    with pytest.raises(InvalidStatus):
        connect(url.replace("/v1/data-channel/", "/elsewhere/"), open_timeout=5, legacy=True)


def test_shell_handshake_echo_acks_duplicates_and_exit(sandbox: Sandbox) -> None:
    ssm = admin(sandbox)
    target = by_name(sandbox, "dev-web-01")
    started = ssm.start_session(Target=target)
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    body = peer.handshake()
    assert body["AgentVersion"] == "3.3.987.0"
    (action,) = body["RequestedClientActions"]
    assert action["ActionParameters"]["SessionType"] == "Standard_Stream"
    peer.send(frames.P_SIZE, json.dumps({"cols": 91, "rows": 27}).encode())
    peer.read_until(b"$ ")
    seq = peer.send(frames.P_OUTPUT, b"stty size\r")
    peer.send(frames.P_OUTPUT, b"stty size\r", seq=seq)  # a resend: acked, not typed twice
    acks = []
    out = b""
    # The resend's ack may come after the command's output: the pty answers while the channel
    # is still reading the duplicate, so read until both are in (recv fails after 5 s of silence).
    while acks.count(seq) < 2 or out.count(b"$ ") < 1 or b"27 91" not in out:
        msg = peer.recv()
        if msg.message_type == frames.ACK:
            acks.append(frames.acked_sequence(msg))
        elif msg.message_type == frames.OUTPUT:
            peer.ws.send(frames.ack_for(msg).encode())
            out += msg.payload
    assert b"stty size\r\n" in out  # the pty echoes: the plugin turned its own echo off
    assert acks.count(seq) == 2
    time.sleep(0.3)
    peer.send(frames.P_OUTPUT, b"exit\r")
    assert peer.closed_output() == ""
    assert sandbox.state.sessions[started["SessionId"]].status == "Terminated"


def test_unacked_output_is_sent_again_until_acked(sandbox: Sandbox) -> None:
    started = admin(sandbox).start_session(Target=by_name(sandbox, "dev-web-01"))
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    first = peer.recv_data(ack=False)
    again = peer.recv_data(ack=False, timeout=3)
    assert again.sequence == first.sequence == 0 and again.message_id == first.message_id
    peer.ws.send(frames.ack_for(again).encode())
    peer.send(frames.P_HANDSHAKE_RESPONSE, b"{}")
    assert peer.recv_data().payload_type == frames.P_HANDSHAKE_COMPLETE
    admin(sandbox).terminate_session(SessionId=started["SessionId"])
    assert peer.closed_output() == "Your session has been terminated."


def test_dropped_socket_is_disconnected_then_resumed_with_its_state(sandbox: Sandbox) -> None:
    ssm = admin(sandbox)
    started = ssm.start_session(Target=by_name(sandbox, "dev-web-02"))
    sid = started["SessionId"]
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    peer.handshake()
    peer.read_until(b"$ ")
    peer.ws.close()
    for _ in range(50):
        if sandbox.state.sessions[sid].status == "Disconnected":
            break
        time.sleep(0.05)
    by_id = [{"key": "SessionId", "value": sid}]
    assert ssm.describe_sessions(State="Active", Filters=by_id)["Sessions"][0]["Status"] == (
        "Disconnected"
    )
    resumed = ssm.resume_session(SessionId=sid)
    assert resumed["TokenValue"] != started["TokenValue"]
    stale = Peer(started["StreamUrl"], started["TokenValue"])
    with pytest.raises(ConnectionClosed):
        stale.recv()
    again = Peer(started["StreamUrl"], resumed["TokenValue"])
    again.seq = peer.seq  # the plugin's counters carry over too
    again.send(frames.P_OUTPUT, b"echo still-$((40+2))\r")
    assert b"still-42" in again.read_until(b"still-42")
    assert sandbox.state.sessions[sid].status == "Connected"
    sandbox.state.sessions[sid].max_minutes = 0  # the preferences' limit, reached now
    assert again.closed_output() == (
        "Your session has reached its maximum duration and has been terminated."
    )


def test_idle_sessions_end_with_aws_reason(sandbox: Sandbox) -> None:
    started = admin(sandbox).start_session(Target=by_name(sandbox, "dev-web-01"))
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    peer.handshake()
    peer.read_until(b"$ ")
    sandbox.clock_offset = 21 * 60  # past idleSessionTimeout (20 min), not maxSessionDuration
    assert peer.closed_output() == (
        "Your session timed out due to inactivity and has been terminated."
    )


def test_silent_agent_never_sends_the_handshake(sandbox: Sandbox) -> None:
    target = by_name(sandbox, "dev-web-02")
    sandbox.silent_agents = {target}
    started = admin(sandbox).start_session(Target=target)
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    with pytest.raises(TimeoutError):
        peer.recv(timeout=1.2)
    admin(sandbox).terminate_session(SessionId=started["SessionId"])


def test_signed_upgrades_are_checked_against_the_sandbox_keys(sandbox: Sandbox) -> None:
    creds = sandbox.role_credentials("FleetAdmin")
    started = client(sandbox, "ssm", creds=creds).start_session(
        Target=by_name(sandbox, "dev-web-01")
    )
    url = started["StreamUrl"]
    host_port = url.split("/")[2]
    path = url.split(host_port, 1)[1]

    def signed(secret: str) -> dict[str, str]:
        headers = sigv4.sign(
            access_key=creds["AccessKeyId"],
            secret=secret,
            token=creds["SessionToken"],
            region="us-east-1",
            service="ssmmessages",
            method="GET",
            host=host_port,
            path=path.split("?")[0],
            headers={},
            body=b"",
        )
        headers.pop("Host")
        return headers

    # sigv4.sign signs no query; the sandbox checks the path and query the client sent
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=signed("wrong"), open_timeout=5, legacy=True)
    assert refused.value.response.status_code == 403
    plain = url.split("?")[0]
    peer = Peer(plain, started["TokenValue"], headers=signed(creds["SecretAccessKey"]))
    assert peer.recv_data().payload_type == frames.P_HANDSHAKE_REQUEST
    admin(sandbox).terminate_session(SessionId=started["SessionId"])


def _port_session(sb: Sandbox, target: str, document: str, **params: list[str]) -> Peer:
    started = client(sb, "ssm", creds=sb.role_credentials("FleetAdmin")).start_session(
        Target=target, DocumentName=document, Parameters=params
    )
    return Peer(started["StreamUrl"], started["TokenValue"])


def test_mux_streams_reach_the_node_and_hosts_behind_it(sandbox: Sandbox) -> None:
    target = by_name(sandbox, "prod-db-01")
    peer = _port_session(sandbox, target, "AWS-StartPortForwardingSession", portNumber=["80"])
    body = peer.handshake()
    params = body["RequestedClientActions"][0]["ActionParameters"]
    assert params["SessionType"] == "Port"
    assert params["Properties"] == {
        "portNumber": "80",
        "localPortNumber": "0",
        "type": "LocalPortForwarding",
    }
    reader = smux.Reader()
    for sid in (3, 5):
        peer.send(
            frames.P_OUTPUT, smux.frame(smux.SYN, sid) + smux.push(sid, b"GET / HTTP/1.0\r\n\r\n")
        )
    got: dict[int, bytes] = {3: b"", 5: b""}
    fins: set[int] = set()
    while fins != {3, 5}:
        for cmd, sid, data in reader.feed(peer.recv_data().payload):
            if cmd == smux.PSH:
                got[sid] += data
            elif cmd == smux.FIN:
                fins.add(sid)
    assert all(
        g.startswith(b"HTTP/1.1 200") and g.endswith(b"hello from prod-db-01\n")
        for g in got.values()
    )

    db = _port_session(
        sandbox,
        target,
        "AWS-StartPortForwardingSessionToRemoteHost",
        host=["orders.example.internal"],
        portNumber=["5432"],
    )
    db.handshake()
    db.send(frames.P_OUTPUT, smux.frame(smux.SYN, 3) + smux.push(3, b"ping\n"))
    out = b""
    while b"ping\n" not in out:
        for _cmd, _sid, data in reader.feed(db.recv_data().payload):
            out += data
    assert out == b"PostgreSQL stand-in on orders.example.internal via prod-db-01\r\nping\n"

    closed = _port_session(sandbox, target, "AWS-StartPortForwardingSession", portNumber=["9999"])
    closed.handshake()
    closed.send(frames.P_OUTPUT, smux.frame(smux.SYN, 3))
    failed = closed.recv_data()
    assert failed.payload_type == frames.P_FLAG and failed.flag == frames.FLAG_CONNECT_TO_PORT_ERROR
    closed.send(frames.P_FLAG, frames.FLAG_TERMINATE_SESSION.to_bytes(4, "big"))


def test_old_agents_get_basic_port_mode_and_disconnect_flags(sandbox: Sandbox) -> None:
    target = by_name(sandbox, "prod-db-01")
    node = sandbox.state.find_node("us-east-1", target)
    assert node is not None
    saved, node.agent_version = node.agent_version, "3.0.196.0"
    try:
        peer = _port_session(
            sandbox,
            target,
            "AWS-StartPortForwardingSessionToRemoteHost",
            host=["cache.internal"],
            portNumber=["6379"],
        )
        body = peer.handshake()
        assert body["AgentVersion"] == "3.0.196.0"
        assert peer.read_until(b"\r\n") == b"Redis stand-in on cache.internal via prod-db-01\r\n"
        peer.send(frames.P_OUTPUT, b"PING\r\n")
        assert peer.read_until(b"PING\r\n") == b"PING\r\n"
        peer.send(frames.P_FLAG, frames.FLAG_DISCONNECT_TO_PORT.to_bytes(4, "big"))
        # a fresh destination connection for the next local client: a fresh greeting
        assert b"Redis stand-in" in peer.read_until(b"\r\n")
        peer.send(frames.P_FLAG, frames.FLAG_TERMINATE_SESSION.to_bytes(4, "big"))
        record = sandbox.state.sessions[peer.session_id]
        for _ in range(40):
            if sandbox.state.session_status(record) == "Terminated":
                break
            time.sleep(0.05)
        assert record.status == "Terminated" and record.terminated_by == record.owner
    finally:
        node.agent_version = saved


def test_ssh_documents_forward_standard_streams_to_the_destination_lookup(
    sandbox: Sandbox,
) -> None:
    target = by_name(sandbox, "prod-db-01")
    peer = _port_session(sandbox, target, "AWS-StartSSHSession", portNumber=["22"])
    body = peer.handshake()
    assert body["RequestedClientActions"][0]["ActionParameters"]["Properties"] == {
        "portNumber": "22"
    }
    if sshd.missing():  # no sshd behind the nodes: nothing listens on 22
        assert "destination" in peer.closed_output()
    else:  # the node's sshd (sandbox/sshd.py): its banner comes through the standard streams
        assert peer.read_until(b"\r\n").startswith(b"SSH-2.0-OpenSSH_")
    # Nothing listens on 2222: the agent ends the session.
    closed = _port_session(sandbox, target, "AWS-StartSSHSession", portNumber=["2222"])
    closed.handshake()
    assert "destination" in closed.closed_output()


def test_a_session_ended_before_its_plugin_connects_is_closed_at_once(sandbox: Sandbox) -> None:
    ssm = admin(sandbox)
    started = ssm.start_session(Target=by_name(sandbox, "dev-web-01"))
    ssm.terminate_session(SessionId=started["SessionId"])
    peer = Peer(started["StreamUrl"], started["TokenValue"])
    first = peer.recv_data()
    assert first.message_type == frames.CHANNEL_CLOSED  # no handshake, no shell
    assert frames.closed_output(first) == "Your session has been terminated."
