"""The Identity Center token cache is the AWS CLI's: botocore's own loader and token provider read
what we write, we read what they write, files are 0600 in a 0700 folder, and a file that cannot
serve (corrupt, another start URL, expired without refresh) is a plain SignInRequired."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
import pytest
from botocore.tokens import SSOTokenProvider
from botocore.utils import JSONFileCache, SSOTokenLoader

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.sso_token import SignInRequired, TokenCache, TokenSource
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import ExitCode
from sessiontui.core.sso import SsoSession, SsoToken

START_URL = "https://corp.awsapps.com/start"
SESSION = SsoSession("corp", START_URL, "us-east-1")
LEGACY = SsoSession("profile old", START_URL, "us-east-1", (), legacy=True)
NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def _token(hours: float = 8, refresh: bool = True, start_url: str = START_URL) -> SsoToken:
    return SsoToken(
        start_url=start_url,
        region="us-east-1",
        access_token="aoa-access-token-value",
        expires_at=NOW + timedelta(hours=hours),
        refresh_token="aor-refresh-token-value" if refresh else None,
        client_id="client-id-1",
        client_secret="client-secret-value" if refresh else None,
        registration_expires_at=NOW + timedelta(days=90) if refresh else None,
    )


@pytest.fixture
def cache(private_home: Path) -> TokenCache:
    return TokenCache()


def test_file_is_the_aws_cli_s_own_place_and_name(cache: TokenCache, private_home: Path) -> None:
    path = cache.save(SESSION, _token())
    expected = private_home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"
    assert path == expected and path.exists()
    legacy = cache.save(LEGACY, _token())
    assert legacy.name == f"{hashlib.sha1(START_URL.encode()).hexdigest()}.json"


def test_file_modes_are_private_even_in_a_folder_made_wide(
    cache: TokenCache, private_home: Path
) -> None:
    folder = private_home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)
    path = cache.save(SESSION, _token())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temp file left behind


def test_fields_are_the_aws_cli_s(cache: TokenCache) -> None:
    data = json.loads(cache.save(SESSION, _token()).read_text())
    assert data == {
        "startUrl": START_URL,
        "region": "us-east-1",
        "accessToken": "aoa-access-token-value",
        "expiresAt": "2026-12-01T20:00:00Z",
        "refreshToken": "aor-refresh-token-value",
        "clientId": "client-id-1",
        "clientSecret": "client-secret-value",
        "registrationExpiresAt": "2027-03-01T12:00:00Z",
    }


def test_botocore_s_loader_reads_what_we_write(cache: TokenCache) -> None:
    cache.save(SESSION, _token())
    loader = SSOTokenLoader(cache=JSONFileCache(str(cache.folder)))
    token = loader(START_URL, session_name="corp")
    assert token["accessToken"] == "aoa-access-token-value"
    assert token["refreshToken"] == "aor-refresh-token-value"
    cache.save(LEGACY, _token(refresh=False))
    assert loader(START_URL)["accessToken"] == "aoa-access-token-value"


def test_botocore_s_token_provider_uses_our_token(
    cache: TokenCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the AWS CLI does for a profile with sso_session: the token we cached, no sign-in."""
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile prod]\nsso_session = corp\nsso_account_id = 111111111111\n"
        f"sso_role_name = Admin\n\n[sso-session corp]\nsso_start_url = {START_URL}\n"
        "sso_region = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    real_now = datetime.now(UTC)
    token = SsoToken(
        START_URL, "us-east-1", "aoa-live", real_now + timedelta(hours=2), client_id="c"
    )
    cache.save(SESSION, token)
    session = botocore.session.Session(profile="prod")
    provider = SSOTokenProvider(session, cache=JSONFileCache(str(cache.folder)))
    frozen = provider.load_token().get_frozen_token()
    assert frozen.token == "aoa-live"
    assert abs((frozen.expiration - token.expires_at).total_seconds()) < 1


def test_we_read_what_botocore_writes(cache: TokenCache) -> None:
    """botocore saves a refreshed token with datetimes through its own dumps: we read that too."""
    from botocore.tokens import _sso_json_dumps

    writer = SSOTokenLoader(cache=JSONFileCache(str(cache.folder), dumps_func=_sso_json_dumps))
    cache.folder.mkdir(parents=True)
    writer.save_token(
        START_URL,
        {
            "startUrl": START_URL,
            "region": "us-east-1",
            "accessToken": "aoa-from-cli",
            "expiresAt": NOW + timedelta(hours=1),
            "clientId": "cid",
            "clientSecret": "csecret",
            "registrationExpiresAt": "2027-02-01T00:00:00Z",
            "refreshToken": "aor-from-cli",
        },
        session_name="corp",
    )
    token = cache.load(SESSION)
    assert token is not None
    assert token.access_token == "aoa-from-cli"
    assert token.expires_at == NOW + timedelta(hours=1)
    assert token.can_refresh(NOW)


def test_secrets_stay_out_of_repr(cache: TokenCache) -> None:
    text = repr(_token())
    for secret in ("aoa-access-token-value", "aor-refresh-token-value", "client-secret-value"):
        assert secret not in text


def test_corrupt_file_is_refused_in_words_and_left_alone(cache: TokenCache) -> None:
    path = cache.save(SESSION, _token())
    path.write_text("{not json")
    with pytest.raises(SignInRequired) as err:
        cache.load(SESSION)
    assert "is unreadable" in err.value.message
    assert "--sso-login corp" in (err.value.hint or "")
    assert err.value.exit_code == ExitCode.AUTH
    assert path.read_text() == "{not json"  # nothing lost
    path.write_text(json.dumps({"accessToken": "x", "expiresAt": "yesterday"}))
    with pytest.raises(SignInRequired, match="a field is missing or wrong"):
        cache.load(SESSION)


def test_token_of_another_start_url_is_refused(cache: TokenCache) -> None:
    cache.save(SESSION, _token(start_url="https://other.awsapps.com/start"))
    with pytest.raises(SignInRequired, match="for another start URL"):
        cache.load(SESSION)


def test_no_token_and_expired_token_without_refresh_need_a_sign_in(cache: TokenCache) -> None:
    source = TokenSource(SESSION, ClientFactory(), cache=cache, clock=FakeClock(NOW))
    with pytest.raises(SignInRequired, match="not signed in"):
        source.token()
    cache.save(SESSION, _token(hours=-1, refresh=False))
    with pytest.raises(SignInRequired, match="expired at 2026-12-01 11:00 UTC and cannot be"):
        source.token()
    cache.save(SESSION, _token(hours=2, refresh=False))
    assert source.token().access_token == "aoa-access-token-value"
    # within the refresh window but not refreshable: still served until it ends
    cache.save(SESSION, _token(hours=0.1, refresh=False))
    assert source.token().access_token == "aoa-access-token-value"
