"""The demo's AWS accounts and its IAM Identity Center directory: one user, permission sets in
several accounts, and each account's own nodes (seeded into moto in that account).

The original fleet in 123456789012 stays as it is (tests and a fixture depend on it); it appears in
the portal as the "Operations" account with a look-only permission set.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

from sessiontui_sandbox.demo import DEMO_ACCOUNT
from sessiontui_sandbox.policies import policy
from sessiontui_sandbox.sso_directory import IdentityCenter, PermissionSet
from sessiontui_sandbox.state import SandboxState

DEMO_SSO_USER = "operator@example.com"
PRODUCTION_ACCOUNT = "210987654321"
STAGING_ACCOUNT = "345678901234"
SHARED_ACCOUNT = "456789012345"
SEED = 20261201


# Every permission set holds IAM policies, authorised as IAM would (iam_authz): the older ones what
# their names promise (ProductionAccess and DeveloperAccess reach one project's nodes, ReadOnly
# AWS's AmazonSSMReadOnlyAccess, AdminAccess AWS's AdministratorAccess); the SSO guide's in
# ../shared/seeds verbatim, one after AWS's quickstart end-user policy, and an administrator's
def _set(name: str, seconds: int) -> PermissionSet:
    return PermissionSet(name, seconds, (policy(name),))


PRODUCTION_ACCESS = _set("ProductionAccess", 3600)
READ_ONLY = _set("ReadOnly", 3600)
DEVELOPER_ACCESS = _set("DeveloperAccess", 4 * 3600)
ADMIN_ACCESS = _set("AdminAccess", 12 * 3600)
PRODUCTION_PERMISSION_SET = _set("ProductionPermissionSet", 3600)
DEVELOPMENT_PERMISSION_SET = _set("DevelopmentPermissionSet", 3600)
SESSION_MANAGER_END_USER = _set("SessionManagerEndUser", 3600)
SESSION_MANAGER_ADMIN = _set("SessionManagerAdmin", 4 * 3600)


@dataclass(frozen=True)
class DemoNode:
    region: str
    name: str
    project: str
    role: str
    os: str = "amzn"
    hybrid: bool = False
    jit: str = ""  # governed by just-in-time node access: the demo policy ("auto", "manual")


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str
    permission_sets: tuple[PermissionSet, ...]
    nodes: tuple[DemoNode, ...] = ()
    governed: tuple[DemoNode, ...] = ()  # seeded after every account's nodes: ids stay put

    @property
    def email(self) -> str:
        return f"aws+{self.name.lower()}@example.com"


USE1, EUW1 = "us-east-1", "eu-west-1"
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(DEMO_ACCOUNT, "Operations", (READ_ONLY,)),  # the original fleet, seeded by fleet.py
    DemoAccount(
        PRODUCTION_ACCOUNT,
        "Production",
        (
            PRODUCTION_ACCESS,
            READ_ONLY,
            PRODUCTION_PERMISSION_SET,
            SESSION_MANAGER_END_USER,
            SESSION_MANAGER_ADMIN,
        ),
        (
            DemoNode(USE1, "prod-api-01", "Production", "api"),
            DemoNode(USE1, "prod-api-02", "Production", "api"),
            DemoNode(USE1, "prod-api-03", "Production", "api", "ubuntu"),
            DemoNode(USE1, "prod-orders-db-01", "Production", "db"),
            DemoNode(USE1, "prod-analytics-01", "Analytics", "worker"),  # outside ProductionAccess
            DemoNode(EUW1, "prod-api-eu-01", "Production", "api"),
            DemoNode(EUW1, "prod-api-eu-02", "Production", "api", "windows"),
        ),
        (
            DemoNode(USE1, "prod-pay-gw-01", "Payments", "gateway", jit="auto"),
            DemoNode(USE1, "prod-pay-gw-02", "Payments", "gateway", jit="auto"),
        ),
    ),
    DemoAccount(
        STAGING_ACCOUNT,
        "Staging",
        (DEVELOPER_ACCESS, DEVELOPMENT_PERMISSION_SET),
        (
            DemoNode(USE1, "staging-api-01", "Staging", "api"),
            DemoNode(USE1, "staging-api-02", "Staging", "api", "ubuntu"),
            DemoNode(USE1, "staging-db-01", "Staging", "db"),
            DemoNode(USE1, "staging-sandbox-01", "Development", "worker"),  # outside its scope
            DemoNode(EUW1, "staging-api-eu-01", "Staging", "api"),
        ),
        (DemoNode(USE1, "staging-pay-01", "Payments", "web", jit="auto"),),
    ),
    DemoAccount(
        SHARED_ACCOUNT,
        "SharedServices",
        (ADMIN_ACCESS,),
        (
            DemoNode(USE1, "ci-runner-01", "Shared", "ci"),
            DemoNode(USE1, "ci-runner-02", "Shared", "ci"),
            DemoNode(USE1, "artifact-cache-01", "Shared", "cache"),
            DemoNode(USE1, "vpn-gw-01", "Shared", "vpn", "rhel"),
            DemoNode(USE1, "build-agent-onprem-01", "Shared", "ci", "ubuntu", hybrid=True),
            DemoNode(EUW1, "ci-runner-eu-01", "Shared", "ci"),
        ),
        (DemoNode(USE1, "signing-key-01", "Payments", "signing", "rhel", jit="manual"),),
    ),
)


def large_accounts(n: int) -> tuple[DemoAccount, ...]:
    """n accounts for the large fleet: 123456789012 first, then made-up ids; admin in each."""
    ids = [DEMO_ACCOUNT] + [f"{200000000000 + i:012d}" for i in range(1, n)]
    return tuple(DemoAccount(a, f"fleet-{i + 1:02d}", (ADMIN_ACCESS,)) for i, a in enumerate(ids))


def seed_identity_center(ic: IdentityCenter, accounts: tuple[DemoAccount, ...]) -> None:
    for account in accounts:
        ic.add_account(account.account_id, account.name, account.email)
        for permission_set in account.permission_sets:
            ic.assign(DEMO_SSO_USER, account.account_id, permission_set)


def seed_account_nodes(state: SandboxState, accounts: tuple[DemoAccount, ...]) -> None:
    """Each account's own nodes, in moto's EC2 of that account (or SSM's hybrids)."""
    _seed_nodes(state, [(a.account_id, n) for a in accounts for n in a.nodes], SEED)
    # each account's just-in-time group last, from its own seed: the nodes above keep their ids
    _seed_nodes(state, [(a.account_id, n) for a in accounts for n in a.governed], SEED + 1)


def _seed_nodes(state: SandboxState, nodes: list[tuple[str, DemoNode]], seed: int) -> None:
    from moto.ec2.models import ec2_backends

    from sessiontui_sandbox import fleet
    from sessiontui_sandbox.jit_requests import POLICY_TAG

    rng = random.Random(seed)
    backends = {
        (account_id, n.region): ec2_backends[account_id][n.region]
        for account_id, n in nodes
        if not n.hybrid
    }
    with contextlib.ExitStack() as stack:
        for backend in backends.values():
            stack.enter_context(fleet._fast_launches(backend))
        for account_id, node in nodes:
            tags = {"Name": node.name, "project": node.project, "Role": node.role}
            if node.jit:
                tags[POLICY_TAG] = node.jit
            if node.hybrid:
                computer = f"{node.name}.corp.example"
                fleet._hybrid_node(
                    state, node.region, rng, node.name, computer, tags, node.os, account=account_id
                )
                continue
            backend = backends[(account_id, node.region)]
            spec = fleet.Spec(node.name, node.project, node.role, node.os)
            instance = fleet._ec2_node(state, backend, node.region, spec, rng, account_id)
            if node.jit:
                backend.create_tags([instance.id], {POLICY_TAG: node.jit})


def for_fleet(kind: str, n_accounts: int) -> tuple[DemoAccount, ...]:
    """The accounts a sandbox fleet has: the demo's, or n plain ones for the large fleet."""
    return large_accounts(n_accounts) if kind == "large" else DEMO_ACCOUNTS


def seed(
    state: SandboxState, accounts: tuple[DemoAccount, ...], regions: list[str], nodes: bool
) -> None:
    """Identity Center's directory, each extra account's session document, and (demo) nodes."""
    from sessiontui_sandbox import fleet

    seed_identity_center(state.identity_center, accounts)
    for account in accounts:
        if account.account_id != DEMO_ACCOUNT:
            fleet.seed_documents(regions, account.account_id)
    if nodes:
        seed_account_nodes(state, accounts)


def aws_config(start_url: str, region: str, accounts: tuple[DemoAccount, ...]) -> str:
    """The sso-session and one profile per permission set, as `aws configure sso` writes them."""
    lines = [
        "",
        "[sso-session sandbox]",
        f"sso_start_url = {start_url}",
        f"sso_region = {region}",
        "sso_registration_scopes = sso:account:access",
    ]
    for account in accounts:
        for permission_set in account.permission_sets:
            lines += [
                "",
                f"[profile {account.name}-{permission_set.name}]",
                "sso_session = sandbox",
                f"sso_account_id = {account.account_id}",
                f"sso_role_name = {permission_set.name}",
                f"region = {region}",
            ]
    return "\n".join(lines) + "\n"
