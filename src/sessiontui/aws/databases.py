"""Databases in each account and region held: RDS instances, Aurora clusters and their endpoints,
RDS Proxy endpoints, ElastiCache replication groups and standalone clusters; the security groups
that say who may reach them; the VPC and groups of the nodes; and the sign-in material (RDS IAM
tokens, Secrets Manager values). Clients come from a factory passed in.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sessiontui.core.bastion import NodeNetwork
from sessiontui.core.databases import Database, Ingress

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elasticache import ElastiCacheClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

AWS_ERRORS = (BotoCoreError, ClientError)
MAX_WORKERS = 8
TOKEN_SECONDS = 900  # RDS IAM tokens last 15 minutes


@dataclass
class Discovery:
    databases: list[Database] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "REGION: what went wrong", per place


ClientFor = Callable[[str, str], Any]  # (service, region) -> a boto3 client


def _groups(items: Iterable[dict[str, Any]] | None, key: str) -> tuple[str, ...]:
    return tuple(str(g.get(key, "")) for g in items or () if g.get(key))


def _pages(client: Any, op: str, key: str, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in client.get_paginator(op).paginate(**kw):
        out.extend(page.get(key) or [])
    return out


def _rds(rds: RDSClient, region: str, account: str) -> list[Database]:
    subnet_vpcs = {
        str(g.get("DBSubnetGroupName")): str(g.get("VpcId") or "")
        for g in _pages(rds, "describe_db_subnet_groups", "DBSubnetGroups")
    }
    out: list[Database] = []
    clusters = _pages(rds, "describe_db_clusters", "DBClusters")
    in_cluster: set[str] = set()
    for c in clusters:
        name = str(c.get("DBClusterIdentifier", ""))
        in_cluster.update(
            str(m.get("DBInstanceIdentifier")) for m in c.get("DBClusterMembers") or []
        )
        base = Database(
            name=name,
            kind="cluster",
            role="",
            engine=str(c.get("Engine", "")),
            host="",
            port=int(c.get("Port") or 0),
            region=region,
            account_id=account,
            vpc_id=subnet_vpcs.get(str(c.get("DBSubnetGroup", "")), ""),
            security_groups=_groups(c.get("VpcSecurityGroups"), "VpcSecurityGroupId"),
            iam_auth=bool(c.get("IAMDatabaseAuthenticationEnabled")),
            secret_arn=str((c.get("MasterUserSecret") or {}).get("SecretArn", "")),
            master_user=str(c.get("MasterUsername", "")),
            database=str(c.get("DatabaseName", "")),
        )
        for role, host in (("writer", c.get("Endpoint")), ("reader", c.get("ReaderEndpoint"))):
            if host:
                out.append(replace(base, role=role, host=str(host)))
        for e in c.get("CustomEndpoints") or []:
            out.append(replace(base, role=f"custom:{str(e).split('.')[0]}", host=str(e)))
    for i in _pages(rds, "describe_db_instances", "DBInstances"):
        name = str(i.get("DBInstanceIdentifier", ""))
        where = i.get("Endpoint") or {}
        if name in in_cluster or not where.get("Address"):
            continue  # cluster members are reached through the cluster's endpoints
        subnet = i.get("DBSubnetGroup") or {}
        out.append(
            Database(
                name=name,
                kind="instance",
                role="",
                engine=str(i.get("Engine", "")),
                host=str(where["Address"]),
                port=int(where.get("Port") or 0),
                region=region,
                account_id=account,
                vpc_id=str(subnet.get("VpcId") or ""),
                security_groups=_groups(i.get("VpcSecurityGroups"), "VpcSecurityGroupId"),
                iam_auth=bool(i.get("IAMDatabaseAuthenticationEnabled")),
                secret_arn=str((i.get("MasterUserSecret") or {}).get("SecretArn", "")),
                master_user=str(i.get("MasterUsername", "")),
                database=str(i.get("DBName") or ""),
            )
        )
    for p in _pages(rds, "describe_db_proxies", "DBProxies"):
        out.append(
            Database(
                name=str(p.get("DBProxyName", "")),
                kind="proxy",
                role="",
                engine=str(p.get("EngineFamily", "")).lower(),
                host=str(p.get("Endpoint", "")),
                port={"postgresql": 5432, "mysql": 3306}.get(
                    str(p.get("EngineFamily", "")).lower(), 0
                ),
                region=region,
                account_id=account,
                vpc_id=str(p.get("VpcId", "")),
                security_groups=tuple(str(g) for g in p.get("VpcSecurityGroupIds") or ()),
                iam_auth=any(a.get("IAMAuth") == "REQUIRED" for a in p.get("Auth") or []),
            )
        )
    return out


def _elasticache(cache: ElastiCacheClient, region: str, account: str) -> list[Database]:
    subnet_vpcs = {
        str(g.get("CacheSubnetGroupName")): str(g.get("VpcId") or "")
        for g in _pages(cache, "describe_cache_subnet_groups", "CacheSubnetGroups")
    }
    clusters = _pages(cache, "describe_cache_clusters", "CacheClusters", ShowCacheNodeInfo=True)
    by_id = {str(c.get("CacheClusterId")): c for c in clusters}
    out: list[Database] = []
    for g in _pages(cache, "describe_replication_groups", "ReplicationGroups"):
        members = [by_id[m] for m in g.get("MemberClusters") or [] if m in by_id]
        first = members[0] if members else {}
        base = Database(
            name=str(g.get("ReplicationGroupId", "")),
            kind="replication-group",
            role="",
            engine=str(g.get("Engine") or first.get("Engine") or "redis"),
            host="",
            port=0,
            region=region,
            account_id=account,
            vpc_id=subnet_vpcs.get(str(first.get("CacheSubnetGroupName", "")), ""),
            security_groups=_groups(first.get("SecurityGroups"), "SecurityGroupId"),
        )
        ends: list[tuple[str, dict[str, Any]]] = []
        if g.get("ConfigurationEndpoint"):
            ends.append(("configuration", g["ConfigurationEndpoint"]))
        for ng in g.get("NodeGroups") or []:
            ends += [
                (r, ng[f])
                for r, f in (("primary", "PrimaryEndpoint"), ("reader", "ReaderEndpoint"))
                if ng.get(f)
            ]
        for role, where in ends:
            if where.get("Address"):
                out.append(
                    replace(
                        base,
                        role=role,
                        host=str(where["Address"]),
                        port=int(where.get("Port") or 6379),
                    )
                )
    for c in clusters:
        if c.get("ReplicationGroupId"):
            continue
        nodes = c.get("CacheNodes") or []
        where = (
            c.get("ConfigurationEndpoint") or (nodes[0].get("Endpoint") if nodes else None) or {}
        )
        if not where.get("Address"):
            continue
        out.append(
            Database(
                name=str(c.get("CacheClusterId", "")),
                kind="cache-cluster",
                role="",
                engine=str(c.get("Engine", "")),
                host=str(where["Address"]),
                port=int(where.get("Port") or 0),
                region=region,
                account_id=account,
                vpc_id=subnet_vpcs.get(str(c.get("CacheSubnetGroupName", "")), ""),
                security_groups=_groups(c.get("SecurityGroups"), "SecurityGroupId"),
            )
        )
    return out


def discover(
    places: Sequence[tuple[ClientFor, str, str]], *, workers: int = MAX_WORKERS
) -> Discovery:
    """Every database in the (client factory, region, account) places, listed in parallel; a
    place that fails is reported in `errors` and the others still count."""
    found = Discovery()

    def one(client_for: ClientFor, region: str, account: str, service: str) -> list[Database]:
        if service == "rds":
            return _rds(client_for("rds", region), region, account)
        return _elasticache(client_for("elasticache", region), region, account)

    jobs = [(p, s) for p in places for s in ("rds", "elasticache")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = {pool.submit(one, *p, s): (p, s) for p, s in jobs}
        for future in concurrent.futures.as_completed(futures):
            (_client, region, account), service = futures[future]
            try:
                found.databases.extend(future.result())
            except AWS_ERRORS as exc:
                where = f"{account}/{region}" if account else region
                found.errors.append(f"{where}: {service}: {exc}")
    found.databases.sort(key=lambda d: (d.name, d.role, d.region, d.account_id))
    return found


def networks(
    ec2: EC2Client, vpc_id: str, groups: Sequence[str]
) -> tuple[dict[str, NodeNetwork], dict[str, list[Ingress]]]:
    """The VPC and security groups of the instances in one VPC (any, when not known), and the
    inbound rules of the database's groups."""
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    nets: dict[str, NodeNetwork] = {}
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):  # type: ignore[arg-type]
        for reservation in page.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                nets[str(inst.get("InstanceId"))] = NodeNetwork(
                    # the filter says which VPC when the answer leaves it out
                    str(inst.get("VpcId") or vpc_id),
                    _groups(inst.get("SecurityGroups"), "GroupId"),  # type: ignore[arg-type]
                )
    rules: dict[str, list[Ingress]] = {}
    if groups:
        for sg in ec2.describe_security_groups(GroupIds=list(groups)).get("SecurityGroups", []):
            rules[str(sg.get("GroupId"))] = [
                Ingress(
                    from_port=int(p.get("FromPort", 0) or 0),
                    to_port=int(p.get("ToPort", 65535) if p.get("ToPort") is not None else 65535),
                    protocol=str(p.get("IpProtocol", "tcp")),
                    groups=_groups(p.get("UserIdGroupPairs"), "GroupId"),  # type: ignore[arg-type]
                    cidrs=tuple(
                        str(r.get("CidrIp")) for r in p.get("IpRanges", []) if r.get("CidrIp")
                    ),
                )
                for p in sg.get("IpPermissions", [])
            ]
    return nets, rules


def iam_token(rds: RDSClient, host: str, port: int, user: str, region: str) -> str:
    """An RDS IAM token for the real endpoint (never 127.0.0.1: RDS checks the host it names)."""
    return str(
        rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    )


def secret_value(sm: SecretsManagerClient, secret_id: str) -> tuple[str, str]:
    """(user or "", password) from a secret: RDS's managed ones are JSON with both; others may be
    JSON with `password` (and `username`) or the bare value."""
    import json

    text = str(sm.get_secret_value(SecretId=secret_id).get("SecretString") or "")
    try:
        data = json.loads(text)
    except ValueError:
        return "", text
    if isinstance(data, dict):
        return str(data.get("username") or ""), str(data.get("password") or "")
    return "", text
