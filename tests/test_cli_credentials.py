"""`sessiontui --credentials ROLE` as a real process: the credential_process document, read by
the real AWS CLI through `credential_process` in its config, against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest

from cli_support import cli_env, lasting_code, run

SESSIONTUI = Path(sys.executable).with_name("sessiontui")
AWS = Path(sys.executable).with_name("aws")


def _assume_calls(sandbox: Any) -> int:
    return int(sandbox.calls[("sts", "AssumeRole")])


def _caller(sandbox: Any, doc: dict[str, Any]) -> str:
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=doc["AccessKeyId"],
        aws_secret_access_key=doc["SecretAccessKey"],
        aws_session_token=doc["SessionToken"],
    )
    return str(sts.get_caller_identity()["Arn"])


def _check_document(doc: dict[str, Any]) -> None:
    assert set(doc) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert doc["Version"] == 1
    expires = datetime.fromisoformat(doc["Expiration"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None and expires > datetime.now(UTC)


def test_the_aws_cli_gets_the_jit_role_through_credential_process(
    sandbox: Any, tmp_path: Path
) -> None:
    if not AWS.exists():
        pytest.skip("the AWS CLI (awscli, in the test extra) is not installed in this venv")
    env = cli_env(sandbox, tmp_path)
    config = tmp_path / "aws-config"
    config.write_text(
        Path(env["AWS_CONFIG_FILE"]).read_text(encoding="utf-8")
        + f"\n[profile jit]\ncredential_process = {SESSIONTUI} --credentials ProdOps\n",
        encoding="utf-8",
    )
    env["AWS_CONFIG_FILE"] = str(config)
    before = _assume_calls(sandbox)
    for _ in range(2):  # the second run takes the cached credentials: no second AssumeRole
        out = subprocess.run(
            [str(AWS), "sts", "get-caller-identity", "--profile", "jit", "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 0, out.stderr
        arn = json.loads(out.stdout)["Arn"]
        assert arn.startswith("arn:aws:sts::123456789012:assumed-role/ProdOps/"), arn
    assert _assume_calls(sandbox) == before + 1
    # the same cache the TUI and --connect use: --credentials itself hands out the same keys
    direct = run(sandbox, tmp_path, "--credentials", "ProdOps")
    assert direct.returncode == 0, direct.stderr
    doc = json.loads(direct.stdout)
    _check_document(doc)
    assert _caller(sandbox, doc) == arn
    assert _assume_calls(sandbox) == before + 1
    assert direct.stderr == ""  # nothing but the document is said when nothing went wrong


def _config_without_a_code_source(sandbox: Any, home: Path) -> Path:
    text = Path(sandbox.config_path).read_text(encoding="utf-8")
    path = home / "config.toml"
    path.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("totp_")),
        encoding="utf-8",
    )
    return path


def test_a_code_is_asked_on_the_terminal_while_stdout_is_the_callers_pipe(
    sandbox: Any, tmp_path: Path
) -> None:
    env = cli_env(sandbox, tmp_path)
    env["SESSIONTUI_CONFIG"] = str(_config_without_a_code_source(sandbox, tmp_path))
    out = tmp_path / "out.json"
    err = tmp_path / "err.txt"
    # as the AWS CLI runs it: stdout and stderr are pipes (files here), the terminal is a pty
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f'exec "{SESSIONTUI}" --credentials StagingDev >"{out}" 2>"{err}"'],
        env=env,
        timeout=30,
        encoding="utf-8",
    )
    try:
        child.expect("MFA code for arn:aws:iam::123456789012:mfa/operator: ")
        child.sendline(sandbox.totp_now())
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, err.read_text()
    doc = json.loads(out.read_text())
    _check_document(doc)
    assert "assumed-role/StagingDev/" in _caller(sandbox, doc)
    assert doc["SessionToken"] not in child.before  # the terminal saw the prompt, not the keys


def test_refusals_have_their_exit_codes_and_leave_stdout_empty(
    sandbox: Any, tmp_path: Path
) -> None:
    unknown = run(sandbox, tmp_path, "--credentials", "NoSuchRole")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "unknown role 'NoSuchRole'" in unknown.stderr and "Traceback" not in unknown.stderr
    # a code is needed, nothing produces one and there is no terminal to ask on: exit 3
    env = cli_env(sandbox, tmp_path)
    env["SESSIONTUI_CONFIG"] = str(_config_without_a_code_source(sandbox, tmp_path))
    no_tty = subprocess.run(
        [str(SESSIONTUI), "--credentials", "StagingDev"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal, as under cron or CI
    )
    assert no_tty.returncode == 3 and no_tty.stdout == ""
    assert "role StagingDev needs an MFA code" in no_tty.stderr
    # --credentials is a mode of its own
    both = run(sandbox, tmp_path, "--credentials", "ProdOps", "--list")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_credentials_near_their_end_are_renewed_ahead_of_the_sdks_refresh_window(
    sandbox: Any, tmp_path: Path
) -> None:
    """botocore asks again 15 minutes before Expiration, and on every use in the last 10: a
    900 s role session is inside that window at once, so the next call renews it, and without a
    code to renew with it still hands out the cached (valid) credentials."""
    first = run(
        sandbox, tmp_path, "--credentials", "StagingDev", "--duration", "900s",
        "--mfa-code", lasting_code(sandbox),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    short = json.loads(first.stdout)
    env = {"SESSIONTUI_CONFIG": str(_config_without_a_code_source(sandbox, tmp_path))}
    no_code = subprocess.run(
        [str(SESSIONTUI), "--credentials", "StagingDev"],
        capture_output=True,
        text=True,
        env=cli_env(sandbox, tmp_path, env),
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert no_code.returncode == 0, no_code.stderr
    assert json.loads(no_code.stdout)["AccessKeyId"] == short["AccessKeyId"]
    assert "renewing them failed: role StagingDev needs an MFA code" in no_code.stderr
    # a typed code the sandbox has not seen (the module's other tests may have spent all three
    # accepted windows), with MFA windows remembered apart: this home's last one is too recent
    renewed = run(
        sandbox, tmp_path, "--credentials", "StagingDev", "--mfa-code", lasting_code(sandbox),
        extra={"XDG_STATE_HOME": str(tmp_path / "other-state")},
    )  # fmt: skip
    assert renewed.returncode == 0 and renewed.stderr == "", renewed.stderr
    fresh = json.loads(renewed.stdout)
    assert fresh["AccessKeyId"] != short["AccessKeyId"]
    assert fresh["Expiration"] > short["Expiration"]
    assert "assumed-role/StagingDev/" in _caller(sandbox, fresh)


IMPORTS_AFTER = """
import sys
from sessiontui.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("boto3", "botocore", "sessiontui.runtime", "sessiontui.access")
heavy = sorted(m for m in heavy if m in sys.modules)
print("IMPORTED", ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("how", ["environment keys", "a profile's static keys"])
def test_a_cached_role_is_handed_out_without_importing_boto3(
    sandbox: Any, tmp_path: Path, how: str
) -> None:
    """Issue 25: the SDKs run credential_process before every AWS call; with the role's
    credentials cached, the only question is whose base key they were cached for, which the
    environment or the shared credentials file answer without botocore's session (~180 ms).
    Nor is botocore imported at all, nor Runtime or the access book (commands.credentials'
    cached_json reads the cache itself; test_credentials_cached holds it to the book's answer)."""
    env = cli_env(sandbox, tmp_path)
    if how == "a profile's static keys":
        creds = tmp_path / "credentials"
        creds.write_text(
            "[ops]\naws_access_key_id = {}\naws_secret_access_key = {}\n".format(
                env.pop("AWS_ACCESS_KEY_ID"), env.pop("AWS_SECRET_ACCESS_KEY")
            ),
            encoding="utf-8",
        )
        env.update(AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="ops")
    # a window the module's sandbox has not spent, still accepted after a slow start (two workers)
    code = lasting_code(sandbox)
    first = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--credentials", "ProdOps", "--mfa-code", code],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "--credentials", "ProdOps"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert json.loads(again.stdout) == json.loads(first.stdout)  # the cached credentials
    assert "IMPORTED \n" in again.stderr, again.stderr
