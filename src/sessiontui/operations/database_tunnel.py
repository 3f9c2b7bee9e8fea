"""A database behind the fleet: find it, pick the bastion, and sign the client in.

Shared by `--db` and the TUI's databases panel. Secrets and tokens only ever reach a client through
its environment (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH): never argv, logs or files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sessiontui.aws.databases import (
    AWS_ERRORS,
    TOKEN_SECONDS,
    discover,
    iam_token,
    networks,
    secret_value,
)
from sessiontui.core.bastion import BastionChoice, rank_bastions
from sessiontui.core.databases import Chosen, Database, DatabasePreset, choose_database
from sessiontui.core.errors import UsageError
from sessiontui.core.node import Node

# a token is renewed this long before its 15 minutes end, so a new connection never gets a stale one
RENEW_BEFORE = 300.0
PASSWORD_ENV = {"postgres": "PGPASSWORD", "mysql": "MYSQL_PWD", "redis": "REDISCLI_AUTH"}


@dataclass(frozen=True)
class Place:
    """Where databases are listed: a client factory (boto3 clients by service and region), its
    region, the account it is in ("" when not known) and the access that holds it (None: the
    default credentials)."""

    client_for: Callable[[str, str], Any]
    region: str
    account_id: str
    access: Any = None


def find_databases(places: Sequence[Place]) -> tuple[list[Database], list[str]]:
    found = discover([(p.client_for, p.region, p.account_id) for p in places])
    return found.databases, found.errors


def pick(databases: Sequence[Database], presets: Sequence[DatabasePreset], wanted: str) -> Chosen:
    return choose_database(databases, presets, wanted)


def place_of(db: Database, places: Sequence[Place]) -> Place:
    for p in places:
        if p.region == db.region and p.account_id in ("", db.account_id):
            return p
    raise UsageError(f"no access holds {db.account_id or '?'}/{db.region}")


def bastions(
    chosen: Chosen,
    nodes: Sequence[Node],
    place: Place,
    recent: Sequence[str],
    may_open: Callable[[Node], bool],
) -> list[BastionChoice]:
    db = chosen.database
    nets, rules = networks(place.client_for("ec2", db.region), db.vpc_id, db.security_groups)
    tag = chosen.preset.bastion_tag if chosen.preset else None
    return rank_bastions(db, nodes, nets, rules, bastion_tag=tag, recent=recent, may_open=may_open)


class SignIn:
    """What a client needs to sign in: the password (an IAM token, renewed before it ends, or a
    secret's value) and where it came from; `env()` is the client's environment addition."""

    def __init__(
        self, chosen: Chosen, place: Place, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.chosen = chosen
        self._place = place
        self._clock = clock
        self._lock = threading.Lock()
        self._password = ""
        self._made = 0.0
        self._user = chosen.user
        self.source = "none"  # iam token | the secret's ARN or name | none
        self.auth = chosen.auth

    @property
    def user(self) -> str:
        return self._user

    def password(self) -> str:
        """The current password ("" when the client should ask); an IAM token is made anew when
        the last one has less than RENEW_BEFORE left."""
        with self._lock:
            db = self.chosen.database
            if self.auth == "iam":
                if not self._user:
                    raise UsageError(
                        f"{self.chosen.name}: IAM authentication needs a user",
                        "set user in its [[databases]] preset",
                    )
                if not self._password or self._clock() - self._made > TOKEN_SECONDS - RENEW_BEFORE:
                    rds = self._place.client_for("rds", db.region)
                    self._password = iam_token(rds, db.host, db.port, self._user, db.region)
                    self._made = self._clock()
                    self.source = "rds iam token"
            elif self.auth == "secret" and not self._password:
                secret = self.chosen.secret
                if not secret:
                    raise UsageError(f"{self.chosen.name}: no secret is known for it")
                sm = self._place.client_for("secretsmanager", db.region)
                user, self._password = secret_value(sm, secret)
                self._user = self._user or user
                self.source = secret
            return self._password

    def env(self) -> dict[str, str]:
        name = PASSWORD_ENV.get(self.chosen.database.family)
        password = self.password()
        if not name or not password:
            return {}
        out = {name: password}
        if self.chosen.database.family == "postgres":
            # RDS speaks TLS; through the tunnel the name is 127.0.0.1, so the certificate's
            # name cannot match and verify-full would refuse: require keeps the encryption
            out["PGSSLMODE"] = "require"
        return out


def client_argv(chosen: Chosen, user: str, local_port: int) -> list[str]:
    """The engine's client, pointed at the tunnel; no secret in it."""
    family = chosen.database.family
    port = str(local_port)
    if family == "postgres":
        argv = ["psql", "-h", "127.0.0.1", "-p", port]
        argv += ["-U", user] if user else []
        return argv + (["-d", chosen.dbname] if chosen.dbname else [])
    if family == "mysql":
        argv = ["mysql", "-h", "127.0.0.1", "-P", port, "--protocol=TCP"]
        argv += ["-u", user] if user else []
        return argv + ([chosen.dbname] if chosen.dbname else [])
    if family == "redis":
        return ["redis-cli", "-h", "127.0.0.1", "-p", port] + (["--user", user] if user else [])
    raise UsageError(f"no client is known for engine {chosen.database.engine!r}")


def client_string(chosen: Chosen, user: str, local_port: int) -> str:
    """What the forwards panel shows: the client command, without the secret."""
    return " ".join(client_argv(chosen, user, local_port))


@dataclass(frozen=True)
class DatabaseRow:
    """One endpoint of the databases panel: what names it, where it is listed from, and the
    nodes that may carry its tunnel, best first (empty: none the access may open)."""

    chosen: Chosen
    place: Place
    choices: tuple[BastionChoice, ...]


def chosen_for(db: Database, presets: Sequence[DatabasePreset]) -> Chosen:
    """The database with the preset that names it (its endpoint, else its identifier), if one
    does: the preset's user, database, auth and bastion tag then apply."""
    for p in presets:
        if (p.endpoint and p.endpoint == db.host) or (
            not p.endpoint and (p.identifier or p.name) == db.name
        ):
            return Chosen(db, p)
    return Chosen(db)


def survey(
    databases: Sequence[Database],
    places: Sequence[Place],
    presets: Sequence[DatabasePreset],
    nodes: Sequence[Node],
    recent: Sequence[str],
    may_open: Callable[[Node], bool],
) -> tuple[list[DatabaseRow], list[str]]:
    """Every database with its ranked bastions; one DescribeInstances and one
    DescribeSecurityGroups per VPC and set of groups, however many endpoints share them."""
    rows: list[DatabaseRow] = []
    errors: list[str] = []
    known: dict[tuple[str, str, str, tuple[str, ...]], tuple[Any, Any]] = {}
    for db in databases:
        chosen = chosen_for(db, presets)
        try:
            place = place_of(db, places)
        except UsageError as exc:
            errors.append(exc.message)
            continue
        key = (db.account_id, db.region, db.vpc_id, db.security_groups)
        if key not in known:
            try:
                known[key] = networks(
                    place.client_for("ec2", db.region), db.vpc_id, db.security_groups
                )
            except AWS_ERRORS as exc:
                errors.append(f"{db.label}: {exc}")
                known[key] = ({}, {})
        nets, rules = known[key]
        tag = chosen.preset.bastion_tag if chosen.preset else None
        choices = rank_bastions(
            db, nodes, nets, rules, bastion_tag=tag, recent=recent, may_open=may_open
        )
        rows.append(DatabaseRow(chosen, place, tuple(choices)))
    return rows, errors
