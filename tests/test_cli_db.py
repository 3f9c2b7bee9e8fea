"""`sessiontui --db` as a real process against the sandbox, with both plugins: the demo's Aurora
cluster through the bastion the security groups admit, psql signed in with an RDS IAM token."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import cli_env
from sessiontui_sandbox import local_postgres

pytestmark = [
    pytest.mark.skipif(bool(local_postgres.missing()), reason=local_postgres.missing()),
    pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed"),
]


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "sessiontui", *args, "--role", "ProdOps", "--reason", "db test"]


def test_db_client_opens_psql_signed_in_with_an_iam_token(
    sandbox: Any, plugin: Path, tmp_path: Path
) -> None:
    env = cli_env(sandbox, tmp_path, {"SESSIONTUI_PLUGIN": str(plugin), "TERM": "dumb"})
    env["SESSIONTUI_MFA_CODE"] = ""
    argv = _argv("--db", "orders", "--client", "--mfa-code", sandbox.fresh_totp())
    child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=90)
    try:
        child.expect(
            "through prod-worker-01 \\(security group sg-[0-9a-f]+ admits it on port 5432\\)"
        )
        child.expect("auth iam \\(rds iam token\\)")
        child.expect("orders=> ")
        child.sendline("SELECT 40 + 2 AS answer;")
        child.expect("42")
        child.expect("orders=> ")
        child.sendline("\\q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def _token(sandbox: Any, host: str, port: int) -> str:
    """A fresh IAM token for the real endpoint, signed with ProdOps' keys as a client would."""
    import boto3

    keys = sandbox.role_credentials("ProdOps")
    rds = boto3.client(
        "rds",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    return str(rds.generate_db_auth_token(host, port, "app"))


def _select_one(local_port: int, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(local_port),
            "-U",
            "app",
            "-d",
            "orders",
            "-tAc",
            "SELECT 1",
        ],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": token, "PGSSLMODE": "require"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _ready_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The `--db --json` ready line, or the CLI's own words on why there is none."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(
            f"no ready line (exit {proc.returncode}): {proc.stderr.read()[-3000:]}"
        )
    return json.loads(line)  # type: ignore[no-any-return]


def test_db_tunnel_keeps_its_port_across_the_services_data_channel_close(
    sandbox: Any, plugin: Path, tmp_path: Path
) -> None:
    """The service closes every data channel after its lifetime (an hour in AWS, 2 s here): the
    plugin resumes the session with ResumeSession and the tunnel keeps its local port; a new
    psql connection with a token made afterwards answers SELECT 1."""
    env = cli_env(sandbox, tmp_path, {"SESSIONTUI_PLUGIN": str(plugin)})
    proc = subprocess.Popen(
        _argv("--db", "orders", "--json", "--mfa-code", sandbox.fresh_totp()),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = _ready_line(proc)
        port = ready["local_port"]
        first = _select_one(port, _token(sandbox, ready["host"], ready["remote_port"]))
        assert (first.returncode, first.stdout.strip()) == (0, "1"), first.stderr
        resumes = sandbox.calls[("ssm", "ResumeSession")]
        starts = sandbox.calls[("ssm", "StartSession")]
        sandbox.channel_lifetime = 2.0
        try:
            deadline = time.monotonic() + 60
            while sandbox.calls[("ssm", "ResumeSession")] == resumes:
                assert time.monotonic() < deadline, "the plugin never resumed after the close"
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        finally:
            sandbox.channel_lifetime = 3600.0
        after = _select_one(port, _token(sandbox, ready["host"], ready["remote_port"]))
        assert (after.returncode, after.stdout.strip()) == (0, "1"), after.stderr
        assert proc.poll() is None  # the tunnel is still open, on the same port
        assert sandbox.calls[("ssm", "StartSession")] == starts  # resumed, not restarted
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_db_json_ready_line_keeps_the_tunnel_and_no_token_in_argv(
    sandbox: Any, plugin: Path, tmp_path: Path
) -> None:
    env = cli_env(sandbox, tmp_path, {"SESSIONTUI_PLUGIN": str(plugin)})
    proc = subprocess.Popen(
        _argv("--db", "orders", "--json", "--mfa-code", sandbox.fresh_totp()),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = _ready_line(proc)
        assert ready["engine"] == "aurora-postgresql"
        assert ready["auth"] == "iam" and ready["password_source"] == "rds iam token"
        assert ready["user"] == "app" and ready["local_port"] == 15432
        assert ready["ends_at"]
        # the tunnel serves a client that signs in with its own token for the real endpoint
        import boto3

        keys = sandbox.role_credentials("ProdOps")
        rds = boto3.client(
            "rds",
            region_name="us-east-1",
            endpoint_url=sandbox.endpoint_url,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )
        token = rds.generate_db_auth_token(ready["host"], ready["remote_port"], "app")
        out = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(ready["local_port"]),
                "-U",
                "app",
                "-d",
                "orders",
                "-tAc",
                "SELECT 1",
            ],
            env={"PATH": os.environ["PATH"], "PGPASSWORD": token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (out.returncode, out.stdout.strip()) == (0, "1"), out.stderr
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert b"X-Amz-Signature" not in cmdline
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_db_unknown_name_is_a_usage_error(sandbox: Any, tmp_path: Path) -> None:
    out = subprocess.run(
        _argv("--db", "nope", "--mfa-code", sandbox.fresh_totp()),
        env=cli_env(sandbox, tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2
    assert "no database named 'nope'" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_db_client_opens_redis_cli_signed_in_with_the_secret_from_its_environment(
    sandbox: Any, plugin: Path, tmp_path: Path
) -> None:
    """The `sessions` preset names its AUTH token's secret (secret_id): redis-cli gets it as
    REDISCLI_AUTH, so PING answers PONG where an unauthenticated one gets NOAUTH; the token is
    in no process's argv meanwhile."""
    from sessiontui_sandbox.databases import REDIS_SECRET

    env = cli_env(sandbox, tmp_path, {"SESSIONTUI_PLUGIN": str(plugin), "TERM": "dumb"})
    env["SESSIONTUI_MFA_CODE"] = ""
    argv = _argv("--db", "sessions", "--client", "--mfa-code", sandbox.fresh_totp())
    child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=90)
    try:
        child.expect(f"auth secret \\({REDIS_SECRET}\\)")
        child.expect("127.0.0.1:16379> ")
        child.sendline("PING")
        child.expect("PONG")
        token = sandbox.databases.redis_token.encode()
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    assert token not in Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
        child.sendline("QUIT")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
