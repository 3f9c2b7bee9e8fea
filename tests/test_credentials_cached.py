"""`--credentials ROLE` from the cache without Runtime (commands.credentials.cached_json): it must
hand out exactly what the access book would hand out without an AWS call, and nothing else.

credential_process runs before every AWS call, so a held role is answered from the config, the
AWS files and the cache file alone; each case below is also put to the full path's access book
(Runtime.open, as `sessiontui --credentials` builds it) and the two must agree: stale credentials,
credentials cached for another base key or source profile, and renewals due are never answered
from the cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessiontui.aws.credcache import CredentialCache
from sessiontui.cli import build_parser
from sessiontui.commands.credentials import REFRESH_AHEAD, cached_json, document, seconds_left
from sessiontui.core.credentials import Credentials
from sessiontui.runtime import Runtime

ARN = "arn:aws:iam::123456789012:role/Ops"
PROFILE_ARN = "arn:aws:iam::123456789012:role/FromProfile"
ENV_KEY = "AKIAENVIRONMENT00001"
SOURCE_KEY = "AKIASOURCEPROFILE001"
NAMED_KEY = "AKIANAMEDPROFILE0001"
CLEAN = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
CLEAN += ("AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
CLEAN += ("AWS_REGION", "AWS_DEFAULT_REGION", "SESSIONTUI_CONFIG")

CONFIG = f"""
regions = ["us-east-1"]

[roles.Ops]
arn = "{ARN}"

[roles.FromSource]
arn = "{ARN}"
source_profile = "src"
"""

AWS_CONFIG = f"""
[profile src]
region = eu-west-1

[profile named]
region = eu-west-1

[profile jit]
role_arn = {PROFILE_ARN}
source_profile = src

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
"""

AWS_CREDENTIALS = f"""
[src]
aws_access_key_id = {SOURCE_KEY}
aws_secret_access_key = s

[named]
aws_access_key_id = {NAMED_KEY}
aws_secret_access_key = n
"""


@pytest.fixture
def home(private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in CLEAN:
        monkeypatch.delenv(name, raising=False)
    files = {"config.toml": CONFIG, "aws-config": AWS_CONFIG, "aws-credentials": AWS_CREDENTIALS}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("SESSIONTUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "e")
    yield tmp_path


def cache(arn: str, source_profile: str | None, base_key: str, seconds: float) -> Credentials:
    creds = Credentials(
        access_key_id="ASIAROLEKEY000000001",
        secret_access_key="role-secret",
        session_token="role-token",
        expiration=datetime.now(UTC) + timedelta(seconds=seconds),
        role_name=arn.rsplit("/", 1)[-1],
        role_arn=arn,
    )
    CredentialCache().put(creds, source_profile, base_key)
    return creds


def full_path(argv: list[str]) -> str | None:
    """What the access book hands out with no AWS call: held credentials outside the refresh
    window (role_credentials would renew the others, or obtain new ones)."""
    args = build_parser().parse_args(argv)
    with Runtime.open(args) as rt:
        book = rt.access_book
        held = book.cached(book.find(args.credentials))
        if held is None:
            return None
        left = seconds_left(held.credentials, rt.clock)
        if left is None or left < REFRESH_AHEAD:
            return None
        return json.dumps(document(held.credentials))


def both(name: str, *flags: str, profile: str | None = None) -> str | None:
    fast = cached_json(name, profile=profile, region_given="--region" in flags)
    argv = ["--credentials", name, *flags, *(("--profile", profile) if profile else ())]
    assert fast == full_path(argv), "the cache path and the access book disagree"
    return fast


def test_a_held_role_is_handed_out_as_the_access_book_would(home: Path) -> None:
    creds = cache(ARN, None, ENV_KEY, 3600)
    found = both("Ops")
    assert found is not None and json.loads(found) == document(creds)


def test_credentials_cached_for_another_base_key_are_not_handed_out(home: Path) -> None:
    cache(ARN, None, "AKIAROTATEDAWAY00001", 3600)  # the keys in the environment since changed
    assert both("Ops") is None


@pytest.mark.parametrize("seconds", [60, 600], ids=["inside the reuse margin", "renewal due"])
def test_stale_or_soon_stale_credentials_go_to_the_full_path(home: Path, seconds: int) -> None:
    cache(ARN, None, ENV_KEY, seconds)
    assert both("Ops") is None


def test_a_source_profile_keys_the_cache_by_its_own_key(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)  # Ops's, under the environment's key: not FromSource's
    assert both("FromSource") is None
    cache(ARN, "src", SOURCE_KEY, 3600)
    assert both("FromSource") is not None


def test_profile_names_the_base_key(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops", profile="named") is None  # --profile: the environment's keys do not count
    cache(ARN, None, NAMED_KEY, 3600)
    assert both("Ops", profile="named") is not None


def test_a_role_of_aws_config_is_found_there(home: Path) -> None:
    cache(PROFILE_ARN, "src", SOURCE_KEY, 3600)
    assert both("jit") is not None


def test_what_only_botocore_can_resolve_goes_to_the_full_path(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "sso")  # an Identity Center base: botocore's to resolve
    assert cached_json("Ops") is None


def test_unknown_roles_and_missing_regions_go_to_the_full_path(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert cached_json("ACCOUNT/PermissionSet") is None  # Identity Center's, or nobody's
    (home / "config.toml").write_text(CONFIG.replace('regions = ["us-east-1"]', ""))
    assert cached_json("Ops") is None  # Runtime.open's "no AWS region" is the full path's to say
    assert both("Ops", "--region", "us-east-1") is not None


def test_the_cli_answers_a_held_role_before_argparse(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    probe = (
        "import sys\n"
        "from sessiontui.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "lean = ('argparse', 'botocore', 'sessiontui.runtime', 'sessiontui.access')\n"
        "print('LOADED', [m for m in lean if m in sys.modules], rc, file=sys.stderr)\n"
    )
    for argv in (["--credentials", "Ops"], ["--credentials=Ops"]):
        out = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=60
        )
        assert "LOADED [] 0" in out.stderr, out.stderr
        assert json.loads(out.stdout)["AccessKeyId"] == "ASIAROLEKEY000000001"
    # with another flag it is argparse's line, and still answered from the cache
    out = subprocess.run(
        [sys.executable, "-c", probe, "--credentials", "Ops", "--region", "us-east-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "'argparse'] 0" in out.stderr and "sessiontui.runtime" not in out.stderr, out.stderr
