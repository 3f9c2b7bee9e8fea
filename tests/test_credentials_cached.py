"""`--credentials ROLE` from the cache without Runtime (commands.credentials.cached_json): it must
hand out exactly what the access book would hand out without an AWS call, and nothing else. The
memo it leaves (stores.role_memo, read by commands.held_credentials with no config parse) must
give the same answer, or none, whatever changed since.

credential_process runs before every AWS call, so a held role is answered from the config, the
AWS files and the cache file alone; each case below is also put to the full path's access book
(Runtime.open, as `sessiontui --credentials` builds it) and the two must agree: stale credentials,
credentials cached for another base key or source profile, and renewals due are never answered
from the cache.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessiontui.aws import credcache
from sessiontui.aws.credcache import CredentialCache
from sessiontui.cli import build_parser
from sessiontui.commands import held_credentials
from sessiontui.commands.credentials import REFRESH_AHEAD, cached_json, document, seconds_left
from sessiontui.commands.held_credentials import recalled_json
from sessiontui.core.credentials import Credentials
from sessiontui.runtime import Runtime
from sessiontui.stores import paths, role_memo

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
    # the files were written just now: a memo would be refused as racy (test_a_file_changed_...)
    monkeypatch.setattr(role_memo, "RACY_SECONDS", 0)
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
    """cached_json and the access book agree; for a bare `--credentials NAME`, the memo too (it
    is left by the answer, and must answer nothing that cached_json would not)."""
    bare = profile is None and not flags
    recalled = recalled_json(name) if bare else None  # the memo of an earlier answer, if any
    fast = cached_json(name, profile=profile, region_given="--region" in flags)
    argv = ["--credentials", name, *flags, *(("--profile", profile) if profile else ())]
    assert fast == full_path(argv), "the cache path and the access book disagree"
    if bare:
        assert recalled in (None, fast), "the memo answered what cached_json does not"
        assert recalled_json(name) == fast, "the memo of this answer disagrees with it"
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


# -- the memo (stores.role_memo) ------------------------------------------------------------------


def memo_answers(name: str = "Ops") -> bool:
    """Whether the memo alone answers, and then exactly as cached_json and the access book."""
    recalled = recalled_json(name)
    if recalled is not None:
        assert recalled == cached_json(name) == full_path(["--credentials", name])
    return recalled is not None


@pytest.mark.parametrize(
    "change",
    [
        "the role's arn in config.toml",
        "the role gone from config.toml",
        "another base key in the environment",
        "no base secret key in the environment",
        "AWS_PROFILE set",
        "AWS_REGION set",
        "SESSIONTUI_CONFIG elsewhere",
        "a default profile's key in the credentials file",
        "the AWS config file replaced",
    ],
)
def test_the_memo_answers_only_while_its_inputs_are_unchanged(
    home: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops") is not None and memo_answers()
    config = home / "config.toml"
    if change == "the role's arn in config.toml":
        config.write_text(CONFIG.replace(f'arn = "{ARN}"', f'arn = "{PROFILE_ARN}"', 1))
    elif change == "the role gone from config.toml":
        config.write_text(CONFIG.replace("[roles.Ops]", "[roles.Other]"))
    elif change == "another base key in the environment":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", NAMED_KEY)
    elif change == "no base secret key in the environment":
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    elif change == "AWS_PROFILE set":
        monkeypatch.setenv("AWS_PROFILE", "named")
    elif change == "AWS_REGION set":
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
    elif change == "SESSIONTUI_CONFIG elsewhere":
        other = home / "other.toml"
        other.write_text(CONFIG)
        monkeypatch.setenv("SESSIONTUI_CONFIG", str(other))
    elif change == "a default profile's key in the credentials file":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        text = AWS_CREDENTIALS + f"\n[default]\naws_access_key_id = {ENV_KEY}\n"
        (home / "aws-credentials").write_text(text + "aws_secret_access_key = d\n")
    elif change == "the AWS config file replaced":
        replaced = home / "aws-config.new"
        replaced.write_text(AWS_CONFIG)
        replaced.replace(home / "aws-config")
    assert not memo_answers(), "the memo outlived a change of its inputs"
    if change != "the role gone from config.toml":  # the full path's UsageError, then
        both("Ops")  # whatever the answer now, the three agree (and a new memo is left for it)


def test_the_memo_never_hands_out_what_the_cache_no_longer_holds(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops") is not None
    cache(ARN, None, ENV_KEY, 600)  # renewal due: the same file, rewritten
    assert not memo_answers() and both("Ops") is None
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops") is not None
    CredentialCache().wipe()  # --logout: the memo goes with the credentials
    assert not any(paths.credentials_dir().iterdir())
    assert both("Ops") is None


def test_a_memo_others_could_write_is_ignored(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops") is not None
    (memo,) = paths.credentials_dir().glob(f"*{role_memo.SUFFIX}")
    assert memo.stat().st_mode & 0o777 == 0o600
    memo.chmod(0o644)
    assert not memo_answers()


def test_a_config_folder_opened_to_others_is_the_full_paths_to_refuse(home: Path) -> None:
    # a config that names a command is refused when others may write its folder (config_trust)
    (home / "config.toml").write_text('terminal_command = "true"\n' + CONFIG)
    home.chmod(0o700)
    cache(ARN, None, ENV_KEY, 3600)
    assert both("Ops") is not None and memo_answers()
    home.chmod(0o770)
    assert not memo_answers()


def test_a_file_changed_just_now_leaves_no_memo(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(role_memo, "RACY_SECONDS", 60)  # the files were written a moment ago
    cache(ARN, None, ENV_KEY, 3600)
    assert cached_json("Ops") is not None
    assert not memo_answers()


def test_the_memo_is_left_only_for_a_bare_credentials_line(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    assert cached_json("Ops", region_given=True) is not None
    assert not memo_answers()
    cache(ARN, None, NAMED_KEY, 3600)
    assert cached_json("Ops", profile="named") is not None
    assert not memo_answers()


def test_the_memo_knows_every_input_of_the_decision(home: Path) -> None:
    """Every variable cached_json reads is in the memo's key, and every file it opens is either
    in the memo (stat'ed) or the cache file (read again each time)."""
    cache(ARN, None, ENV_KEY, 3600)
    cache(ARN, "src", SOURCE_KEY, 3600)
    cache(PROFILE_ARN, "src", SOURCE_KEY, 3600)

    class Recording(dict[str, str]):
        read: set[str] = set()

        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            self.read.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> str:
            self.read.add(key)
            return super().__getitem__(key)

        def __contains__(self, key: object) -> bool:
            self.read.add(str(key))
            return super().__contains__(key)

    opened: set[str] = set()
    real_open = io.open

    def recording_open(file: object, *args: object, **kwargs: object) -> object:
        if not isinstance(file, int):  # a descriptor (write_private's) was opened by name before
            opened.add(os.fspath(file))  # type: ignore[arg-type]
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    environ = Recording(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", environ)
        patch.setattr(io, "open", recording_open)
        patch.setattr(builtins, "open", recording_open)
        answers = [cached_json(name) for name in ("Ops", "FromSource", "jit")]
    assert None not in answers
    assert environ.read <= set(role_memo.ENV) | set(role_memo.SECRET_ENV)
    listed = {str(paths.config_file()), str(paths.aws_config_file())}
    listed |= {str(paths.aws_credentials_file())}
    cached = {str(p) for p in paths.credentials_dir().glob("*.json")}
    assert opened - cached <= listed


def test_the_fast_path_keeps_the_caches_rules() -> None:
    assert held_credentials.REUSE_MARGIN == credcache.REUSE_MARGIN
    assert role_memo.credentials_dir() == str(paths.credentials_dir())


def test_a_held_role_is_answered_from_the_memo_without_the_config(home: Path) -> None:
    cache(ARN, None, ENV_KEY, 3600)
    probe = (
        "import sys\n"
        "import sessiontui.stores.role_memo as memo\n"
        "memo.RACY_SECONDS = float(sys.argv.pop(1))\n"
        "from sessiontui.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "heavy = ('sessiontui.config', 'platformdirs', 'typing', 'dataclasses', 'tomllib')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules], rc, file=sys.stderr)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe, racy, "--credentials", "Ops"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        for racy in ("0", "2")  # the first leaves the memo; the second reads it
    ]
    assert "LOADED [] 0" in runs[1].stderr, runs[1].stderr
    assert runs[0].stdout == runs[1].stdout == cached_json("Ops") + "\n"
