"""A signal that lands inside TerminateSession must not leave the session open server-side."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.sessions import start_session
from sessiontui.core.credentials import Credentials
from sessiontui.plugin.locate import PluginInfo
from sessiontui.plugin.session_handles import Closer
from sessiontui.plugin.signals import ShutdownRequested
from sessiontui.plugin.supervisor import SessionSupervisor


@pytest.fixture
def ssm(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    raw = sandbox.role_credentials("FleetAdmin", 3600)
    creds = Credentials(raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"])
    yield ClientFactory().with_credentials(creds).client("ssm", sandbox.regions[0])


def _node(sandbox: Any) -> str:
    for node in sandbox.state.nodes[sandbox.regions[0]].values():
        if node.ping_status == "Online":
            return str(node.instance_id)
    raise AssertionError("no online node")


def test_a_signal_inside_terminate_session_still_ends_the_session(ssm: Any, sandbox: Any) -> None:
    started = start_session(ssm, _node(sandbox), None, None, "closer test")
    interrupted = {"done": False}

    def signal_arrives(**_: Any) -> None:
        # as shutdown_signals' handler raises in the main thread, between two bytecodes
        if not interrupted["done"]:
            interrupted["done"] = True
            raise ShutdownRequested(signal.SIGTERM)

    ssm.meta.events.register("before-call.ssm.TerminateSession", signal_arrives)
    try:
        plugin = PluginInfo(Path("/nonexistent"), "1.2.677.0", True)  # no plugin runs here
        sup = SessionSupervisor(ssm=ssm, credentials=Credentials("k", "s"), plugin=plugin)
        closer = Closer(sup, started, time.monotonic())
        with pytest.raises(ShutdownRequested):
            closer.close("interrupted", "sessiontui received SIGTERM")
    finally:
        ssm.meta.events.unregister("before-call.ssm.TerminateSession", signal_arrives)
    assert interrupted["done"] and closer.terminated is True
    record = sandbox.state.sessions[started.session_id]
    assert sandbox.state.session_status(record) == "Terminated"
