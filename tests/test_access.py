"""The one shape of access (core.access) and the IAM role source behind AccessBook, on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sessiontui.access import AccessContext, Prompts, build_book
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.identity import IdentityService
from sessiontui.config import load_config
from sessiontui.core.access import ENDS_CREDENTIALS, Access, Offer, earliest_end
from sessiontui.core.clock import SYSTEM_CLOCK
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import UsageError
from sessiontui.core.node import Node

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def node(node_id: str = "i-0123456789abcdef0", **tags: str) -> Node:
    return Node(id=node_id, name=tags.get("Name", ""), region="us-east-1", tags=tags)


def access(offer: Offer, targets: frozenset[str] | None = None) -> Access:
    creds = Credentials("AKIA", "secret", "token", NOW + timedelta(hours=1))
    return Access(offer, creds, creds.expiration, targets=targets)


def test_refuses_by_scope_targets_and_account() -> None:
    scoped = access(Offer("ProdOps", "iam-role", scope={"project": "Production"}))
    assert scoped.refuses(node(project="Production")) is None
    assert "needs project=Production" in (scoped.refuses(node(project="Staging")) or "")
    granted = access(Offer("oi-1", "node-access"), targets=frozenset({"i-0aaa"}))
    assert granted.refuses(node("i-0aaa")) is None
    assert "not among the nodes" in (granted.refuses(node("i-0bbb")) or "")


def test_earliest_end_names_what_ends_first() -> None:
    soon, later = NOW + timedelta(minutes=20), NOW + timedelta(hours=2)
    assert earliest_end([(later, ENDS_CREDENTIALS), (soon, "Identity Center session")]) == (
        soon,
        "Identity Center session",
    )
    assert earliest_end([(None, "x")]) == (None, ENDS_CREDENTIALS)


def test_remaining_never_negative() -> None:
    held = access(Offer("ProdOps", "iam-role"))
    assert held.remaining(NOW) == 3600
    assert held.remaining(NOW + timedelta(hours=3)) == 0


@pytest.fixture
def book(sandbox: Any, private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    sandbox.clock_offset = sandbox.clock_offset + 120  # fresh MFA windows for this test
    config = load_config()
    factory = ClientFactory()
    identity = IdentityService.from_config(
        config, lambda _profile: factory, region=sandbox.regions[0]
    )
    yield build_book(
        AccessContext(
            config=config,
            identity=identity,
            factory=factory,
            regions=list(sandbox.regions),
            clock=SYSTEM_CLOCK,
        )
    )


def test_unknown_name_lists_the_known_ones(book: Any) -> None:
    with pytest.raises(UsageError) as err:
        book.find("Nope")
    assert "ProdOps" in err.value.message and "StagingDev" in err.value.message


def test_iam_role_obtained_then_held(book: Any, sandbox: Any) -> None:
    offer = book.find("StagingDev")
    assert (offer.source, offer.needs, offer.account_id) == ("iam-role", "mfa", "123456789012")
    assert book.cached(offer) is None
    got = book.obtain(offer, 900, Prompts(typed_code=sandbox.totp_now()))
    assert got.name == "StagingDev" and got.duration == 900
    assert got.ends_at == got.credentials.expiration and got.ends_because == ENDS_CREDENTIALS
    assert dict(got.scope) == {"project": "Staging"}
    held = book.access("StagingDev", None, Prompts())  # no duration asked: the cache answers
    assert held.credentials.access_key_id == got.credentials.access_key_id
    assert book.cached_seconds(offer) is not None
    assert book.forget() >= 1
    assert book.cached(offer) is None


def test_a_typed_code_is_spent_once(book: Any, sandbox: Any) -> None:
    prompts = Prompts(typed_code=sandbox.totp_now())
    book.obtain(book.find("StagingDev"), 900, prompts)
    assert prompts.typed_code is None
