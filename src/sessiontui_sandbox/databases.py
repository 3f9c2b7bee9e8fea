"""The demo's databases: RDS, Aurora and ElastiCache in moto, served by real local servers.

Seeded through the sandbox's own API once it listens (so moto builds them as it would for any
client), in us-east-1 of the demo account, in the default VPC where the demo nodes run:

- `orders-cluster`: Aurora PostgreSQL, IAM authentication on, a writer and a reader instance.
  Its writer and reader endpoints are served by pg_iam_proxy fronts to one real PostgreSQL.
- `billing-mysql`: RDS MySQL with an RDS-managed master user secret. Nothing serves it: the
  sandbox has no MySQL server, so a forward to it fails to connect, as to a database that is down.
- `sessions`: an ElastiCache Redis replication group whose AUTH token is the secret
  `demo/sessions/auth-token`, served by a real redis-server with that requirepass (no TLS).

Security groups say who may reach each database: `orders-db` admits 5432 from `orders-clients`
(on prod-worker-01 only); `sessions-cache` admits 6379 from `cache-clients` (on prod-web-01).
The demo's bastion (`jump-host`, tagged Role=bastion) is in the VPC but admitted by neither.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessiontui_sandbox.local_postgres import LocalPostgres
from sessiontui_sandbox.local_redis import LocalRedis
from sessiontui_sandbox.pg_iam_proxy import Endpoint, PgIamFront

log = logging.getLogger("sessiontui_sandbox.databases")

REGION = "us-east-1"
ORDERS_CLUSTER = "orders-cluster"
ORDERS_USER = "app"  # the IAM database user (GRANT rds_iam on RDS; a login role here)
ORDERS_DATABASE = "orders"
MYSQL_INSTANCE = "billing-mysql"
REDIS_GROUP = "sessions"
REDIS_SECRET = "demo/sessions/auth-token"
ORDERS_CLIENTS_NODE = "prod-worker-01"
CACHE_CLIENTS_NODE = "prod-web-01"


@dataclass
class _Served:
    kind: str  # "postgres" | "redis"
    front: PgIamFront | None = None


class DemoDatabases:
    """The seeded databases and what serves them; `address(host, port)` for the data channel."""

    def __init__(self, state: Any, folder: Path) -> None:
        self.state = state
        self.folder = folder
        self.redis_token = secrets.token_urlsafe(24)
        self.postgres = LocalPostgres((ORDERS_USER,), ((ORDERS_DATABASE, ORDERS_USER),))
        self.redis = LocalRedis(self.redis_token)
        self._served: dict[tuple[str, int], _Served] = {}
        self._endpoints: dict[tuple[str, int], Endpoint] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    # -- seeding ------------------------------------------------------------------------------------
    def seed(self, client: Any) -> None:
        """`client(service)`: a boto3 client of the demo operator against the sandbox."""
        ec2, rds = client("ec2"), client("rds")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
        vpc_id = vpc["VpcId"]
        subnets = [
            s["SubnetId"]
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "Subnets"
            ]
        ]

        def group(name: str, text: str) -> str:
            return str(
                ec2.create_security_group(GroupName=name, Description=text, VpcId=vpc_id)["GroupId"]
            )

        orders_db = group("orders-db", "Aurora orders cluster")
        orders_clients = group("orders-clients", "who may reach the orders cluster")
        cache = group("sessions-cache", "ElastiCache sessions")
        cache_clients = group("cache-clients", "who may reach the sessions cache")
        billing = group("billing-db", "RDS billing MySQL")
        for target, port, source in (
            (orders_db, 5432, orders_clients),
            (cache, 6379, cache_clients),
            (billing, 3306, orders_clients),
        ):
            ec2.authorize_security_group_ingress(
                GroupId=target,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "UserIdGroupPairs": [{"GroupId": source}],
                    }
                ],
            )
        default_sg = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )["SecurityGroups"][0]["GroupId"]
        for node, sg in (
            (ORDERS_CLIENTS_NODE, orders_clients),
            (CACHE_CLIENTS_NODE, cache_clients),
        ):
            found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [node]}])
            for reservation in found["Reservations"]:
                for instance in reservation["Instances"]:
                    ec2.modify_instance_attribute(
                        InstanceId=instance["InstanceId"], Groups=[default_sg, sg]
                    )
        rds.create_db_subnet_group(
            DBSubnetGroupName="demo-private",
            DBSubnetGroupDescription="the demo's private subnets",
            SubnetIds=subnets,
        )
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=ORDERS_CLUSTER,
            Engine="aurora-postgresql",
            EngineVersion="15.4",
            MasterUsername="postgres",
            ManageMasterUserPassword=True,
            DatabaseName=ORDERS_DATABASE,
            Port=5432,
            DBSubnetGroupName="demo-private",
            VpcSecurityGroupIds=[orders_db],
            EnableIAMDatabaseAuthentication=True,
            Tags=[{"Key": "project", "Value": "Production"}],
        )["DBCluster"]
        for name in ("orders-1", "orders-2"):
            rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBClusterIdentifier=ORDERS_CLUSTER,
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
            )
        rds.create_db_instance(
            DBInstanceIdentifier=MYSQL_INSTANCE,
            Engine="mysql",
            EngineVersion="8.0.35",
            DBInstanceClass="db.t3.medium",
            AllocatedStorage=20,
            MasterUsername="admin",
            ManageMasterUserPassword=True,
            DBName="billing",
            Port=3306,
            DBSubnetGroupName="demo-private",
            VpcSecurityGroupIds=[billing],
            Tags=[{"Key": "project", "Value": "Production"}],
        )
        sm = client("secretsmanager")
        sm.create_secret(
            Name=REDIS_SECRET,
            SecretString=self.redis_token,
            Description="AUTH token of the sessions ElastiCache group",
        )
        ecache = client("elasticache")
        ecache.create_cache_subnet_group(
            CacheSubnetGroupName="demo-private",
            CacheSubnetGroupDescription="the demo's private subnets",
            SubnetIds=subnets,
        )
        ecache.create_replication_group(
            ReplicationGroupId=REDIS_GROUP,
            ReplicationGroupDescription="web sessions",
            Engine="redis",
            CacheNodeType="cache.t4g.small",
            NumCacheClusters=2,
            CacheSubnetGroupName="demo-private",
            SecurityGroupIds=[cache],
            Port=6379,
            TransitEncryptionEnabled=False,
        )
        self._serve_cluster(rds, cluster)
        self._serve_redis(ecache)

    def _serve_cluster(self, rds: Any, cluster: dict[str, Any]) -> None:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster["DBClusterIdentifier"])
        info = found["DBClusters"][0]
        account = str(info.get("DBClusterArn", "::::0").split(":")[4])
        resource_id = str(info.get("DbClusterResourceId", "cluster-demo"))
        for host in (info.get("Endpoint"), info.get("ReaderEndpoint")):
            if host:
                key = (str(host), int(info.get("Port") or 5432))
                self._endpoints[key] = Endpoint(key[0], key[1], REGION, account, resource_id)
                self._served[key] = _Served("postgres")

    def _serve_redis(self, ecache: Any) -> None:
        group = ecache.describe_replication_groups(ReplicationGroupId=REDIS_GROUP)
        for node_group in group["ReplicationGroups"][0].get("NodeGroups", []):
            for field in ("PrimaryEndpoint", "ReaderEndpoint"):
                where = node_group.get(field) or {}
                if where.get("Address"):
                    key = (str(where["Address"]), int(where.get("Port") or 6379))
                    self._served[key] = _Served("redis")

    # -- serving ------------------------------------------------------------------------------------
    def endpoints(self) -> list[tuple[str, int, str]]:
        """(host, port, kind) of each endpoint something serves."""
        with self._lock:
            return [(h, p, s.kind) for (h, p), s in self._served.items()]

    def fronts(self) -> list[PgIamFront]:
        with self._lock:
            return [s.front for s in self._served.values() if s.front is not None]

    def address(self, host: str, port: int) -> tuple[str, int] | None:
        """Where a forward to host:port through a node lands; None when nothing serves it."""
        with self._lock:
            if self._closed:
                return None
            served = self._served.get((host, port))
            if served is None:
                return None
            if served.kind == "redis":
                try:
                    return self.redis.address()
                except RuntimeError as e:
                    log.warning("no Redis for %s: %s", host, e)
                    return None
            if served.front is None:
                served.front = PgIamFront(
                    self.state,
                    self._endpoints[(host, port)],
                    self.postgres.socket_path,
                    self._tls_context(),
                    _allows(self.state),
                    log.info,
                )
            return served.front.address

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            cert, key = _self_signed(self.folder)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._tls = context
        return self._tls

    def close(self) -> None:
        with self._lock:
            self._closed = True
            fronts = [s.front for s in self._served.values() if s.front is not None]
        for front in fronts:
            front.close()
        self.postgres.close()
        self.redis.close()


def _allows(state: Any) -> Any:
    from sessiontui_sandbox.iam_authz import allows

    def check(access_key: str, action: str, resource: str, region: str) -> bool:
        return bool(allows(state, access_key, action, resource, region))

    return check


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate like RDS presents (its CA is not in any trust store here either)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "*.rds.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = folder / "rds-front.crt", folder / "rds-front.key"
    from sessiontui.stores.paths import write_private

    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode())
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    return cert_path, key_path
