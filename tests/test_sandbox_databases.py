"""The demo's databases in the sandbox: real PostgreSQL behind RDS IAM authentication, real Redis
behind an AUTH token from Secrets Manager, reached with the real `psql` and `redis-cli` at the
address the data channel would join a forward to."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import boto3
import pytest

from sessiontui_sandbox import local_postgres, local_redis

pytestmark = [
    pytest.mark.skipif(bool(local_postgres.missing()), reason=local_postgres.missing()),
    pytest.mark.skipif(bool(local_redis.missing()), reason=local_redis.missing()),
    pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed"),
    pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed"),
]


def _session(sandbox: Any, **keys: str) -> boto3.session.Session:
    env = sandbox.env()
    return boto3.session.Session(
        aws_access_key_id=keys.get("AccessKeyId", env["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=keys.get("SecretAccessKey", env["AWS_SECRET_ACCESS_KEY"]),
        aws_session_token=keys.get("SessionToken"),
        region_name="us-east-1",
    )


def _writer(sandbox: Any) -> tuple[str, int]:
    rds = _session(sandbox).client("rds", endpoint_url=sandbox.endpoint_url)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders-cluster")["DBClusters"][0]
    return str(cluster["Endpoint"]), int(cluster["Port"])


def _psql(
    address: tuple[str, int], password: str, user: str = "app"
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [
            "psql",
            "-h",
            address[0],
            "-p",
            str(address[1]),
            "-U",
            user,
            "-d",
            "orders",
            "-tAc",
            "SELECT 1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_iam_token_signs_in_over_tls(sandbox: Any) -> None:
    host, port = _writer(sandbox)
    address = sandbox.databases.address(host, port)
    # a role that may connect: the demo user itself may only look (policies/Operator.json)
    keys = sandbox.role_credentials("FleetAdmin")
    rds = _session(sandbox, **keys).client("rds", endpoint_url=sandbox.endpoint_url)
    token = rds.generate_db_auth_token(host, port, "app")
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": token, "PGSSLMODE": "require"}
    out = subprocess.run(
        [
            "psql",
            "-h",
            address[0],
            "-p",
            str(address[1]),
            "-U",
            "app",
            "-d",
            "orders",
            "-tAc",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # the front ends TLS, so the server sees a plain Unix socket connection: the answer is "f"
    # while the client insisted on TLS (sslmode=require) and was served
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "f"


def test_role_credentials_sign_in_too(sandbox: Any) -> None:
    host, port = _writer(sandbox)
    keys = sandbox.role_credentials("ProdOps")
    rds = _session(sandbox, **keys).client("rds", endpoint_url=sandbox.endpoint_url)
    out = _psql(
        sandbox.databases.address(host, port), rds.generate_db_auth_token(host, port, "app")
    )
    assert (out.returncode, out.stdout.strip()) == (0, "1"), out.stderr


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("user", "signed for user"),
        ("host", "signed for"),
        ("expired", "expired"),
        ("password", "not a presigned URL"),
        ("stranger", "never issued"),
    ],
)
def test_a_bad_token_is_refused_as_rds_refuses_it(sandbox: Any, case: str, why: str) -> None:
    host, port = _writer(sandbox)
    front_address = sandbox.databases.address(host, port)
    rds = _session(sandbox).client("rds", endpoint_url=sandbox.endpoint_url)
    if case == "user":
        token = rds.generate_db_auth_token(host, port, "postgres")
    elif case == "host":
        token = rds.generate_db_auth_token(
            "other.cluster-x.us-east-1.rds.amazonaws.com", port, "app"
        )
    elif case == "expired":
        token = rds.generate_db_auth_token(host, port, "app")
        sandbox.clock_offset = 16 * 60
    elif case == "stranger":
        stranger = boto3.session.Session(
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region_name="us-east-1",
        )
        token = stranger.client("rds", endpoint_url=sandbox.endpoint_url).generate_db_auth_token(
            host, port, "app"
        )
    else:
        token = "hunter2"
    try:
        out = _psql(front_address, token)
    finally:
        sandbox.clock_offset = 0
    assert out.returncode == 2
    assert 'FATAL:  PAM authentication failed for user "app"' in out.stderr
    front = next(f for f in sandbox.databases.fronts() if f.endpoint.host == host)
    assert why in front.refusals[-1]


def test_redis_answers_with_the_token_from_secrets_manager(sandbox: Any) -> None:
    # a role that may read the secret: the demo user itself may only look
    session = _session(sandbox, **sandbox.role_credentials("FleetAdmin"))
    cache = session.client("elasticache", endpoint_url=sandbox.endpoint_url)
    group = cache.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    address = sandbox.databases.address(primary["Address"], int(primary["Port"]))
    secret = session.client("secretsmanager", endpoint_url=sandbox.endpoint_url).get_secret_value(
        SecretId="demo/sessions/auth-token"
    )["SecretString"]

    def ping(auth: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["redis-cli", "-h", address[0], "-p", str(address[1]), "PING"],
            env={"PATH": os.environ["PATH"], "REDISCLI_AUTH": auth},
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert ping(secret).stdout.strip() == "PONG"
    wrong = ping("wrong")
    assert "PONG" not in wrong.stdout
    assert "WRONGPASS" in wrong.stdout + wrong.stderr


def test_the_mysql_instance_has_a_managed_secret_and_nothing_serves_it(sandbox: Any) -> None:
    rds = _session(sandbox).client("rds", endpoint_url=sandbox.endpoint_url)
    found = rds.describe_db_instances(DBInstanceIdentifier="billing-mysql")["DBInstances"][0]
    assert found["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:")
    endpoint = found["Endpoint"]
    assert sandbox.databases.address(endpoint["Address"], int(endpoint["Port"])) is None
