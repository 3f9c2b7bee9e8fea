"""aws_profiles.static_access_key_id agrees with botocore's credential chain wherever it answers:
it keys the credential cache for a cached role's --credentials without importing boto3, so a
disagreement would hand out credentials cached for another base identity."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from sessiontui.aws_profiles import static_access_key_id

CLEAN = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
CLEAN += ("AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
ENV_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT00001", "AWS_SECRET_ACCESS_KEY": "z"}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEAN:
        monkeypatch.delenv(name, raising=False)
    creds, config = tmp_path / "credentials", tmp_path / "config"
    creds.write_text(
        "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = d\n"
        "[a]\naws_access_key_id = AKIAPROFILEA00000001\naws_secret_access_key = x\n"
        "[b]\naws_access_key_id = AKIAPROFILEB00000001\naws_secret_access_key = y\n",
        encoding="utf-8",
    )
    config.write_text(
        "[profile jit]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = a\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


@pytest.mark.parametrize(
    ("profile", "env"),
    [
        (None, {}),
        (None, {"AWS_PROFILE": "a"}),
        (None, {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}),  # botocore reads DEFAULT first
        ("a", ENV_KEYS),  # a profile named outright: the environment's keys are not consulted
        (None, {**ENV_KEYS, "AWS_PROFILE": "b"}),  # AWS_PROFILE alone: they are
    ],
)
def test_the_key_is_botocores(
    files: None, monkeypatch: pytest.MonkeyPatch, profile: str | None, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    credentials = boto3.Session(profile_name=profile).get_credentials()
    assert credentials is not None
    assert static_access_key_id(profile) == credentials.access_key


def test_a_profile_that_assumes_a_role_is_left_to_botocore(files: None) -> None:
    assert static_access_key_id("jit") is None
