"""Polling GetAccessToken (aws.access_request_api) against the sandbox: never faster than it allows,
longer after throttling; the kept requests (access_store); the pure limits (core.access_request)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox_support import client
from sessiontui.aws.access_request_api import start_access_request, wait_for_decision
from sessiontui.core.access_request import (
    FIRST_WAIT,
    MAX_WAIT,
    THROTTLED_WAIT,
    AccessRequest,
    Target,
    check_reason,
    check_target_count,
    next_wait,
)
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import UsageError
from sessiontui.stores.access_requests import AccessStore
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.jit_requests import TOKEN_POLL_SECONDS


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


def node_id(sb: Sandbox, name: str) -> str:
    found = client(sb, "ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return str(found["Reservations"][0]["Instances"][0]["InstanceId"])


def test_the_polling_schedule_grows_and_throttling_waits_longer() -> None:
    waits = [next_wait(None)]
    for _ in range(8):
        waits.append(next_wait(waits[-1]))
    assert waits[0] == FIRST_WAIT and waits == sorted(waits) and waits[-1] == MAX_WAIT
    assert min(waits) >= TOKEN_POLL_SECONDS  # never faster than the sandbox (and AWS) allow
    assert next_wait(2.0, throttled=True) == THROTTLED_WAIT
    assert next_wait(10.0, throttled=True) == 20.0


def test_throttled_poll_is_answered_with_a_longer_wait(sandbox: Sandbox) -> None:
    ssm = client(sandbox, "ssm")
    request_id = start_access_request(
        ssm, "INC-1", Target(node_ids=(node_id(sandbox, "pay-api-01"),))
    )
    sandbox.throttle_rate = 1.0  # every SSM call answers ThrottlingException
    clock = FakeClock(datetime(2026, 12, 1, 12, tzinfo=UTC))
    waits: list[float] = []
    heard: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        sandbox.throttle_rate = 0.0

    answer = wait_for_decision(
        ssm, request_id, 60, on_poll=lambda s, _n: heard.append(s), clock=clock, sleep=sleep
    )
    assert answer.status == "Approved" and answer.credentials is not None
    assert waits == [THROTTLED_WAIT]
    assert heard == ["Throttled", "Approved"]


def test_pending_polls_never_come_faster_than_allowed(sandbox: Sandbox) -> None:
    ssm = client(sandbox, "ssm")
    request_id = start_access_request(
        ssm, "CHG-1", Target(node_ids=(node_id(sandbox, "pay-ledger-01"),))
    )
    sandbox.reset_calls()
    clock = FakeClock(datetime(2026, 12, 1, 12, tzinfo=UTC))
    waits: list[float] = []
    heard: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        time.sleep(TOKEN_POLL_SECONDS)  # the sandbox's limit is on real time

    answer = wait_for_decision(
        ssm, request_id, 6, on_poll=lambda s, _n: heard.append(s), clock=clock, sleep=sleep
    )
    assert answer.status == "Pending"
    assert waits == [2.0, 3.0, 1.0]  # the last one is what was left of the six seconds
    assert "Throttled" not in heard
    assert sandbox.calls[("ssm", "GetAccessToken")] == 4


def test_limits_in_plain_words() -> None:
    assert check_reason("  INC-1 ") == "INC-1"
    for bad, words in (("", "required"), (" ", "required"), ("x" * 257, "at most 256")):
        with pytest.raises(UsageError, match=words):
            check_reason(bad)
    check_target_count(5)
    with pytest.raises(UsageError, match="at most 5"):
        check_target_count(6)


def test_kept_requests_are_private_and_survive_damage(tmp_path: Path) -> None:
    store = AccessStore(tmp_path / "state" / "access-requests.json")
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    approved = AccessRequest(
        "oi-0123456789ab",
        "us-east-1",
        "INC-1",
        ("i-0a",),
        status="Approved",
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    store.put(approved)
    store.put(AccessRequest("oi-0123456789ac", "us-east-1", "INC-2", ("i-0b",), created_at=now))
    assert [r.request_id for r in store.load()] == ["oi-0123456789ac", "oi-0123456789ab"]
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.path.parent.stat().st_mode & 0o777 == 0o700
    assert store.reusable("i-0a", "us-east-1", now) == approved
    assert store.reusable("i-0a", "eu-west-1", now) is None
    assert store.reusable("i-0a", "us-east-1", now + timedelta(hours=2)) is None
    assert approved.live_status(now + timedelta(hours=2)) == "Expired"
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load() == []


def test_kept_requests_are_read_again_when_another_process_changes_them(tmp_path: Path) -> None:
    # the details pane asks on every cursor step, so a store keeps what it read; a write by
    # another process (--request-access) must still show at the next question
    path = tmp_path / "state" / "access-requests.json"
    ours, theirs = AccessStore(path), AccessStore(path)
    assert ours.load() == [] and ours.governed() == set()
    theirs.put(AccessRequest("oi-0123456789ab", "us-east-1", "INC-1", ("i-0a",)))
    assert [r.request_id for r in ours.load()] == ["oi-0123456789ab"]
    theirs.note_governed("us-east-1", "i-0b")
    assert ours.governed() == {("us-east-1", "i-0b")}
    ours.load().clear()  # what a caller does with its list is not the store's
    assert len(ours.load()) == 1
