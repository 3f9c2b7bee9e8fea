"""Databases behind the fleet (RDS, Aurora, RDS Proxy, ElastiCache) and the presets that name them.

Pure data: aws/databases.py fills it from AWS, core/bastion.py ranks the nodes that can reach one.
Every text field came from AWS and is attacker-controlled: shown through core/untrusted.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sessiontui.core.errors import UsageError

AUTHS = ("iam", "secret", "none")


@dataclass(frozen=True, slots=True)
class Ingress:
    """One inbound rule of a security group: a TCP port range from groups or CIDR blocks."""

    from_port: int
    to_port: int
    protocol: str = "tcp"  # "-1" is every protocol
    groups: tuple[str, ...] = ()
    cidrs: tuple[str, ...] = ()

    def covers(self, port: int) -> bool:
        if self.protocol == "-1":
            return True
        return self.protocol in ("tcp", "6") and self.from_port <= port <= self.to_port


@dataclass(frozen=True, slots=True)
class Database:
    """One endpoint a client connects to (a cluster's writer and reader are two)."""

    name: str  # the AWS identifier: instance, cluster, proxy, replication group, cache cluster
    kind: str  # instance | cluster | proxy | replication-group | cache-cluster
    role: str  # writer | reader | custom:NAME | primary | configuration | "" (single endpoint)
    engine: str  # as AWS names it: aurora-postgresql, postgres, mysql, redis, valkey, memcached
    host: str
    port: int
    region: str
    account_id: str = ""
    vpc_id: str = ""
    security_groups: tuple[str, ...] = ()
    iam_auth: bool = False
    secret_arn: str = ""  # the RDS-managed MasterUserSecret
    master_user: str = ""
    database: str = ""  # the initial database, when AWS says

    @property
    def family(self) -> str:
        """postgres | mysql | redis | memcached | "": which client speaks to it."""
        e = self.engine.lower()
        if "postgres" in e:
            return "postgres"
        if "mysql" in e or "mariadb" in e:
            return "mysql"
        if e in ("redis", "valkey"):
            return "redis"
        return "memcached" if e == "memcached" else ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name

    @property
    def key(self) -> str:
        """Unique per endpoint: what the TUI keys rows and remembered local ports on."""
        return f"{self.account_id}/{self.region}/{self.name}/{self.role}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "role": self.role,
            "engine": self.engine,
            "host": self.host,
            "port": self.port,
            "region": self.region,
            "account_id": self.account_id,
            "vpc_id": self.vpc_id,
            "security_groups": list(self.security_groups),
            "iam_auth": self.iam_auth,
            "secret_arn": self.secret_arn,
            "master_user": self.master_user,
            "database": self.database,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Database:
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", "")),
            role=str(data.get("role", "")),
            engine=str(data.get("engine", "")),
            host=str(data.get("host", "")),
            port=int(data.get("port") or 0),
            region=str(data.get("region", "")),
            account_id=str(data.get("account_id", "")),
            vpc_id=str(data.get("vpc_id", "")),
            security_groups=tuple(str(g) for g in data.get("security_groups") or ()),
            iam_auth=bool(data.get("iam_auth")),
            secret_arn=str(data.get("secret_arn", "")),
            master_user=str(data.get("master_user", "")),
            database=str(data.get("database", "")),
        )


@dataclass(frozen=True, slots=True)
class DatabasePreset:
    """A `[[databases]]` table of the config."""

    name: str
    identifier: str | None = None
    endpoint: str | None = None
    user: str | None = None
    database: str | None = None
    auth: str | None = None  # iam | secret | none; None: iam when on, else the managed secret
    secret: str | None = None  # a Secrets Manager ARN or name
    bastion_tag: tuple[str, str] | None = None
    local_port: int | None = None


@dataclass(frozen=True, slots=True)
class Chosen:
    """A database resolved from what the operator typed, with the preset that named it."""

    database: Database
    preset: DatabasePreset | None = None
    others: tuple[Database, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.preset.name if self.preset else self.database.name

    @property
    def user(self) -> str:
        if self.preset and self.preset.user:
            return self.preset.user
        return self.database.master_user

    @property
    def dbname(self) -> str:
        if self.preset and self.preset.database:
            return self.preset.database
        return self.database.database

    @property
    def auth(self) -> str:
        if self.preset and self.preset.auth:
            return self.preset.auth
        if self.database.iam_auth:
            return "iam"
        if self.database.secret_arn or (self.preset and self.preset.secret):
            return "secret"
        return "none"

    @property
    def secret(self) -> str:
        if self.preset and self.preset.secret:
            return self.preset.secret
        return self.database.secret_arn


_ROLE_ORDER = {"writer": 0, "primary": 0, "": 0, "configuration": 1, "reader": 2}


def _preferred(found: Sequence[Database]) -> list[Database]:
    """A name that means a cluster means its writer (or a group's primary) first."""
    return sorted(found, key=lambda d: (_ROLE_ORDER.get(d.role, 3), d.role))


def choose_database(
    databases: Sequence[Database], presets: Sequence[DatabasePreset], wanted: str
) -> Chosen:
    """The database `wanted` names: a preset's name, an identifier (a cluster's writer first,
    `NAME:reader` for its reader) or an endpoint host. UsageError (exit 2) when none or several."""
    text = wanted.strip()
    if not text:
        raise UsageError("--db needs a name: a [[databases]] preset, an identifier or an endpoint")
    preset = next((p for p in presets if p.name == text), None)
    if preset is not None:
        if preset.endpoint:
            found = [d for d in databases if d.host == preset.endpoint]
        else:
            found = _preferred([d for d in databases if d.name == (preset.identifier or text)])
        if not found:
            where = preset.endpoint or preset.identifier or text
            raise UsageError(
                f"database preset {text!r} names {where}, which no account or region held lists"
            )
        return Chosen(found[0], preset, tuple(found[1:]))
    name, _, role = text.partition(":")
    found = [d for d in databases if d.host == text]
    if not found:
        found = _preferred(
            [d for d in databases if d.name == name and (not role or d.role == role)]
        )
    if not found:
        known = sorted({d.name for d in databases} | {p.name for p in presets})
        hint = f"known: {', '.join(known[:12])}" if known else "no database was found"
        raise UsageError(f"no database named {text!r}", hint)
    accounts = {(d.account_id, d.region) for d in found if d.name == found[0].name}
    if len(accounts) > 1:
        where = ", ".join(sorted(f"{a or '?'}/{r}" for a, r in accounts))
        raise UsageError(f"{text!r} names databases in several places: {where}", "use its endpoint")
    return Chosen(found[0], None, tuple(found[1:]))
