"""Credential cache (permissions, expiry, corruption, wipe) and the role picker's rows."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessiontui.aws.credcache import CredentialCache, cache_key
from sessiontui.aws.identity import roles_for_picker
from sessiontui.config import Config
from sessiontui.core.clock import FakeClock
from sessiontui.core.credentials import Credentials
from sessiontui.core.roles import RoleSpec

START = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
ARN = "arn:aws:iam::123456789012:role/ProdOps"
BASE_KEY = "AKIAEXAMPLEBASEKEY01"


pytestmark = pytest.mark.usefixtures("private_home")  # conftest: tmp HOME and XDG folders


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def creds(clock: FakeClock, seconds: int = 3600, arn: str = ARN) -> Credentials:
    return Credentials(
        access_key_id="ASIAROLEKEY000000001",
        secret_access_key="role-secret",
        session_token="role-token",
        expiration=clock.now() + timedelta(seconds=seconds),
        role_name=arn.rsplit("/", 1)[-1],
        role_arn=arn,
    )


def test_default_location_and_permissions(tmp_path: Path, clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    path = cache.put(creds(clock), "default", BASE_KEY)
    assert path.parent == tmp_path / "xdg_cache_home" / "sessiontui" / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    # the name reveals neither the role nor the base key
    assert path.stem == cache_key(ARN, "default", BASE_KEY)
    assert "ProdOps" not in path.name and BASE_KEY not in path.read_text()


def test_roundtrip_and_key_separation(clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    original = creds(clock)
    cache.put(original, "default", BASE_KEY)
    assert cache.get(ARN, "default", BASE_KEY) == original
    assert cache.get(ARN, "other", BASE_KEY) is None
    assert cache.get(ARN, "default", "AKIAROTATEDKEY000001") is None
    assert cache.get("arn:aws:iam::123456789012:role/Other", "default", BASE_KEY) is None


def test_reused_until_two_minutes_before_expiry(clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    cache.put(creds(clock, 3600), None, BASE_KEY)
    clock.advance(3600 - 121)
    assert cache.get(ARN, None, BASE_KEY) is not None
    assert cache.status(ARN) == pytest.approx(121)
    clock.advance(1)
    assert cache.get(ARN, None, BASE_KEY) is None
    assert cache.status(ARN) is None


@pytest.mark.parametrize(
    "junk",
    ["{not json", "[]", '{"version": 1}', '{"version": 1, "expiration": "soon"}', ""],
)
def test_corrupted_file_ignored_and_replaced(clock: FakeClock, junk: str) -> None:
    cache = CredentialCache(clock=clock)
    path = cache.path_for(ARN, None, BASE_KEY)
    path.parent.mkdir(parents=True)
    path.write_text(junk)
    assert cache.get(ARN, None, BASE_KEY) is None
    assert cache.status(ARN) is None
    cache.put(creds(clock), None, BASE_KEY)
    assert cache.get(ARN, None, BASE_KEY) is not None


def test_wipe_removes_everything(clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    cache.put(creds(clock), None, BASE_KEY)
    cache.put(creds(clock, arn="arn:aws:iam::123456789012:role/B"), "p", BASE_KEY)
    assert cache.wipe() == 2
    assert list(cache.directory.iterdir()) == []
    assert cache.get(ARN, None, BASE_KEY) is None
    assert CredentialCache(clock=clock).wipe() == 0  # nothing left, and no error


def test_wipe_without_folder(tmp_path: Path) -> None:
    assert CredentialCache(tmp_path / "nowhere").wipe() == 0


def test_status_takes_the_best_of_any_source(clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    cache.put(creds(clock, 1000), None, BASE_KEY)
    cache.put(creds(clock, 3000), "other", "AKIAOTHERBASEKEY0001")
    role = RoleSpec(name="ProdOps", arn=ARN)
    assert cache.status(role) == pytest.approx(3000)


def test_roles_for_picker(clock: FakeClock) -> None:
    cache = CredentialCache(clock=clock)
    config = Config(
        roles={
            "ProdOps": RoleSpec("ProdOps", ARN, 7200, 14400, {"project": "Production"}, None, True),
            "zeta": RoleSpec(
                "zeta", "arn:aws:iam::123456789012:role/Z", 3600, origin="aws-profile:zeta"
            ),
            "alpha": RoleSpec(
                "alpha", "arn:aws:iam::123456789012:role/A", 900, origin="aws-profile:alpha"
            ),
        }
    )
    cache.put(creds(clock, 1800), None, BASE_KEY)
    rows = roles_for_picker(config, cache, clock, {"arn:aws:iam::123456789012:role/A": 43200})
    assert [r.name for r in rows] == ["ProdOps", "alpha", "zeta"]
    prod, alpha, zeta = rows
    assert (prod.arn, prod.duration, prod.max_duration, prod.origin) == (ARN, 7200, 14400, "config")
    assert prod.remaining == pytest.approx(1800) and prod.reason_required
    assert alpha.max_duration == 43200 and alpha.origin == "aws-profile:alpha"
    assert zeta.max_duration is None and zeta.remaining is None
    clock.advance(1700)  # inside the two-minute margin: no longer offered as live
    assert roles_for_picker(config, cache, clock)[0].remaining is None
