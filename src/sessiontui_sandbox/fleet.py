"""Seeding: the demo identity in moto's IAM, the preferences document, and the fleets.

EC2 instances are created through moto's EC2 backend in-process (the same objects the server
answers from) because going through HTTP costs ~7 ms a node; SSM's view of each node lives in
SandboxState because moto has no DescribeInstanceInformation.
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sessiontui_sandbox.demo import (
    DEMO_ACCOUNT,
    DEMO_REGIONS,
    DEMO_ROLES,
    DEMO_USER,
    DEMO_USER_ARN,
    IDLE_SESSION_MINUTES,
    MAX_SESSION_MINUTES,
)
from sessiontui_sandbox.state import EC2_INSTANCE, MANAGED_INSTANCE, ManagedNode, SandboxState

LINUX_AMI = "ami-760aaa0f"  # amzn-ami-hvm in moto's default image list
WINDOWS_AMI = "ami-12c6146b"  # Windows_Server-2008-R2 in moto's default image list
LATEST_AGENT = "3.3.987.0"
OLD_AGENT = "3.2.1241.0"
SEED = 20261121

PLATFORMS = {
    "amzn": ("Linux", "Amazon Linux", "2023"),
    "ubuntu": ("Linux", "Ubuntu", "22.04"),
    "rhel": ("Linux", "Red Hat Enterprise Linux", "9.3"),
    "windows": ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
    "macos": ("MacOS", "macOS", "14.4"),
}

SESSION_PREFERENCES = {
    "schemaVersion": "1.0",
    "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "",
        "s3KeyPrefix": "",
        "s3EncryptionEnabled": True,
        "cloudWatchLogGroupName": "",
        "cloudWatchEncryptionEnabled": True,
        "cloudWatchStreamingEnabled": False,
        "kmsKeyId": "",
        "runAsEnabled": False,
        "runAsDefaultUser": "",
        "idleSessionTimeout": str(IDLE_SESSION_MINUTES),
        "maxSessionDuration": str(MAX_SESSION_MINUTES),
        "shellProfile": {"windows": "", "linux": ""},
    },
}


def _trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": DEMO_USER_ARN},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        }
    )


def seed_identity() -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[DEMO_ACCOUNT]["global"]
    iam.create_user("us-east-1", DEMO_USER)
    iam.create_virtual_mfa_device(DEMO_USER, "/")
    for role in DEMO_ROLES:
        iam.create_role(
            role_name=role.name,
            assume_role_policy_document=_trust_policy(),
            path="/",
            permissions_boundary=None,
            description=f"sessiontui demo JIT role {role.name}",
            tags=[{"Key": k, "Value": v} for k, v in role.scope.items()],
            max_session_duration=str(role.max_session_duration),
        )


def seed_documents(regions: tuple[str, ...] | list[str], account: str = DEMO_ACCOUNT) -> None:
    from moto.ssm.models import ssm_backends

    for region in regions:
        ssm_backends[account][region].create_document(
            content=json.dumps(SESSION_PREFERENCES),
            requires=[],
            attachments=[],
            name="SSM-SessionManagerRunShell",
            version_name="",
            document_type="Session",
            document_format="JSON",
            target_type="",
            tags=[],
        )


@contextlib.contextmanager
def _fast_launches(backend: Any) -> Iterator[None]:
    """Memoise moto's per-instance AMI lookup, which scans ~1,300 images for every launch."""
    original = backend.describe_images
    cache: dict[str, Any] = {}

    def describe_images(ami_ids: Any = None, filters: Any = None, **kwargs: Any) -> Any:
        if filters and list(filters) == ["image-id"] and not ami_ids and not kwargs:
            key = str(filters["image-id"])
            if key not in cache:
                cache[key] = original(filters=filters)
            return cache[key]
        return original(ami_ids=ami_ids, filters=filters, **kwargs)

    backend.describe_images = describe_images
    try:
        yield
    finally:
        del backend.describe_images


def _ec2_id(rng: random.Random) -> str:
    return f"i-0{rng.getrandbits(64):016x}"  # as EC2 writes them today: 0 and 16 hex digits


def _private_ip(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


def _launch(
    backend: Any,
    region: str,
    tags: dict[str, str],
    windows: bool,
    itype: str,
    rng: random.Random,
) -> Any:
    """One instance in moto's EC2 whose id and address come from our generator.

    moto draws ids and addresses from its own process-wide random sequence, and how many draws
    happen between a seed and a launch changes with moto's and botocore's releases; the recorded
    demo fleet, the snapshots and the tests name nodes by id, so those come from us. moto keys
    tags by id, hence the tags are written after the id is ours.
    """
    instance_id = _ec2_id(rng)
    reservation = backend.run_instances(
        WINDOWS_AMI if windows else LINUX_AMI,
        1,
        None,
        [],
        # "default" skips moto's instance-type check, a scan of every offering per launch
        is_instance_type_default=True,
        region_name=region,
        block_device_mappings=[],  # skips moto's default volume, whose attach is O(fleet)
        private_ip=_private_ip(rng),
    )
    instance = reservation.instances[0]
    instance.id = instance_id
    instance.instance_type = itype
    if tags:
        backend.create_tags([instance_id], tags)
    return instance


def _computer_name(region: str, ip: str, windows: bool, rng: random.Random) -> str:
    if windows:
        return "EC2AMAZ-" + "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(7)
        )
    dashed = ip.replace(".", "-")
    if region == "us-east-1":
        return f"ip-{dashed}.ec2.internal"
    return f"ip-{dashed}.{region}.compute.internal"


@dataclass
class Spec:
    name: str | None
    project: str
    role: str
    os: str = "amzn"
    ping: str = "Online"
    stopped: bool = False
    agent: bool = True
    old_agent: bool = False
    itype: str = "t3.medium"


def _ec2_node(
    state: SandboxState,
    backend: Any,
    region: str,
    spec: Spec,
    rng: random.Random,
    account: str = DEMO_ACCOUNT,
) -> Any:
    tags = {"project": spec.project, "Role": spec.role}
    if spec.name is not None:
        tags = {"Name": spec.name, **tags}
    windows = spec.os == "windows"
    instance = _launch(backend, region, tags, windows, spec.itype, rng)
    if spec.stopped:
        backend.stop_instances([instance.id])
    if not spec.agent:
        return instance
    ptype, pname, pversion = PLATFORMS[spec.os]
    ip = str(instance.private_ip)
    state.add_node(
        ManagedNode(
            instance_id=instance.id,
            region=region,
            resource_type=EC2_INSTANCE,
            ping_status=spec.ping,
            platform_type=ptype,
            platform_name=pname,
            platform_version=pversion,
            agent_version=OLD_AGENT if spec.old_agent else LATEST_AGENT,
            is_latest_version=not spec.old_agent,
            ip_address=ip,
            computer_name=_computer_name(region, ip, windows, rng),
            iam_role=f"ssm-instance-{spec.project.lower()}",
            ping_age=rng.uniform(5, 290) if spec.ping == "Online" else 3 * 86400 + 1234,
            ec2=instance,
            account=account,
        )
    )
    return instance


def _hybrid_id(rng: random.Random) -> str:
    return f"mi-{rng.getrandbits(68):017x}"


def _hybrid_node(
    state: SandboxState,
    region: str,
    rng: random.Random,
    name: str,
    computer: str,
    tags: dict[str, str],
    os: str = "ubuntu",
    ip: str = "",
    account: str = DEMO_ACCOUNT,
) -> ManagedNode:
    ptype, pname, pversion = PLATFORMS[os]
    node = ManagedNode(
        instance_id=_hybrid_id(rng),
        region=region,
        resource_type=MANAGED_INSTANCE,
        ping_status="Online",
        platform_type=ptype,
        platform_name=pname,
        platform_version=pversion,
        agent_version=LATEST_AGENT,
        ip_address=ip or f"192.168.{rng.randint(1, 250)}.{rng.randint(2, 250)}",
        computer_name=computer,
        iam_role="SSMServiceRole",
        ping_age=rng.uniform(5, 290),
        name=name,
        activation_id=str(uuid.UUID(int=rng.getrandbits(128))),
        registration_age=rng.uniform(30, 400) * 86400,
        tags=tags,
        account=account,
    )
    state.add_node(node)
    return node


def _standard(prefix: str, counts: dict[str, dict[str, int]]) -> list[Spec]:
    short = {"Production": "prod", "Staging": "stg", "Development": "dev"}
    oses = ["amzn", "amzn", "ubuntu", "rhel"]
    specs: list[Spec] = []
    for project, roles in counts.items():
        for role, n in roles.items():
            for i in range(1, n + 1):
                name = f"{short[project]}-{role}-{prefix}{i:02d}"
                specs.append(Spec(name, project, role, oses[(i + len(role)) % len(oses)]))
    return specs


DEMO_FORWARD_DB = "prod-db-01"  # the orders-db forward preset goes through this node
LONG_NAME = (
    "analytics-batch-processing-worker-for-the-quarterly-finance-reconciliation-pipeline-"
    "with-a-name-nobody-reads-to-the-end-01"
)


def seed_demo(state: SandboxState) -> random.Random:
    """The demo fleet: fixed seed, the same nodes and ids on every run. Returns the generator,
    whose next draws are the just-in-time nodes' (seed_governed), seeded last so
    that these keep their ids."""
    rng = random.Random(SEED)
    use1: list[Spec] = [
        *_standard(
            "",
            {
                "Production": {"web": 6, "db": 3, "worker": 4},
                "Staging": {"web": 3, "db": 1, "worker": 2},
                "Development": {"web": 2, "db": 1, "worker": 2},
            },
        ),
        Spec("jump-host", "Production", "bastion"),
        Spec("prod-ad-01", "Production", "directory", "windows", itype="m5.large"),
        Spec("stg-iis-01", "Staging", "web", "windows", old_agent=True),
        Spec("café-api-über-01", "Development", "web", "ubuntu"),
        Spec("legacy reporting box", "Production", "worker", "rhel", old_agent=True),
        Spec(LONG_NAME, "Staging", "worker"),
        Spec(None, "Development", "worker"),  # nobody named it
        Spec("prod-cache-01", "Production", "cache", ping="ConnectionLost"),
        Spec("stg-batch-01", "Staging", "worker", ping="ConnectionLost", stopped=True),
        Spec("dev-noagent-01", "Development", "web", agent=False),
    ]
    euw1: list[Spec] = [
        *_standard(
            "eu-",
            {
                "Production": {"web": 5, "db": 2, "worker": 3},
                "Staging": {"web": 2, "db": 1, "worker": 2},
                "Development": {"web": 2, "worker": 1},
            },
        ),
        Spec("jump-host", "Production", "bastion"),  # the same Name as in us-east-1, on purpose
        Spec("prod-eu-rdgw-01", "Production", "bastion", "windows"),
        Spec("dev-eu-win-build-01", "Development", "build", "windows", old_agent=True),
    ]
    from moto.ec2.models import ec2_backends

    for region, specs in (("us-east-1", use1), ("eu-west-1", euw1)):
        backend = ec2_backends[DEMO_ACCOUNT][region]
        with _fast_launches(backend):
            for spec in specs:
                _ec2_node(state, backend, region, spec, rng)
    _hybrid_node(
        state,
        "us-east-1",
        rng,
        "onprem-router-01",
        "rtr-nyc-01.corp.example",
        {"Name": "onprem-router-01", "project": "Production", "Role": "router", "site": "nyc"},
    )
    _hybrid_node(
        state,
        "us-east-1",
        rng,
        "onprem-router-02",
        "rtr-nyc-02.corp.example",
        {"Name": "onprem-router-02", "project": "Production", "Role": "router", "site": "nyc"},
    )
    _hybrid_node(
        state,
        "us-east-1",
        rng,
        "build-box",
        "buildbox.lab.example",
        {"Name": "build-box", "project": "Development", "Role": "build"},
        os="rhel",
    )
    _hybrid_node(
        state,
        "us-east-1",
        rng,
        "lab-mac-mini",
        "Lab-Mac-mini.local",
        {"Name": "lab-mac-mini", "project": "Development", "Role": "build"},
        os="macos",
    )
    _hybrid_node(
        state,
        "eu-west-1",
        rng,
        "onprem-fra-router-01",
        "rtr-fra-01.corp.example",
        {"Name": "onprem-fra-router-01", "project": "Production", "Role": "router", "site": "fra"},
    )
    _hybrid_node(
        state,
        "eu-west-1",
        rng,
        "fileserver-fra",
        "FRA-FILE01",
        {"Name": "fileserver-fra", "project": "Staging", "Role": "fileserver", "site": "fra"},
        os="windows",
    )
    return rng


def seed_large(
    state: SandboxState,
    n: int,
    regions: tuple[str, ...] = DEMO_REGIONS,
    accounts: tuple[str, ...] = (DEMO_ACCOUNT,),
) -> None:
    """n nodes across the regions (and accounts, node i in account i mod N) for the benchmark,
    about one in ten hybrid."""
    from moto.ec2.models import ec2_backends

    rng = random.Random(SEED)
    projects = ("Production", "Staging", "Development")
    roles = ("web", "db", "worker", "bastion", "cache", "queue")
    backends = {(a, r): ec2_backends[a][r] for a in accounts for r in regions}
    with contextlib.ExitStack() as stack:
        for backend in backends.values():
            stack.enter_context(_fast_launches(backend))
        for i in range(n):
            region = regions[(i // 10) % len(regions)]  # blocks of ten keep hybrids spread
            account = accounts[i % len(accounts)]
            project = projects[i % 3]
            role = roles[(i // 3) % len(roles)]
            name = f"{role}-{project[:4].lower()}-{i:05d}"
            if i % 10 == 9:
                tags = {"Name": name, "project": project, "Role": role}
                computer = f"{name}.corp.example"
                _hybrid_node(state, region, rng, name, computer, tags, account=account)
                continue
            ping = "ConnectionLost" if i % 97 == 0 else "Online"
            os = "windows" if i % 13 == 0 else "amzn"
            spec = Spec(name, project, role, os, ping=ping, itype="t3.micro")
            _ec2_node(state, backends[(account, region)], region, spec, rng, account)


def seed_governed(state: SandboxState, rng: random.Random) -> None:
    """Add the demo's just-in-time nodes, after seed_demo's with its generator."""
    from moto.ec2.models import ec2_backends

    from sessiontui_sandbox.demo import DEMO_ACCOUNT
    from sessiontui_sandbox.jit_requests import GOVERNED_NODES, HYBRID

    for region, name, tags, os in GOVERNED_NODES:
        if name in HYBRID:
            computer = f"{name}.corp.example"
            _hybrid_node(state, region, rng, name, computer, {"Name": name, **tags}, os=os)
            continue
        backend = ec2_backends[DEMO_ACCOUNT][region]
        extra = {k: v for k, v in tags.items() if k not in ("project", "Role")}
        spec = Spec(name, tags["project"], tags["Role"], os)
        with _fast_launches(backend):
            instance = _ec2_node(state, backend, region, spec, rng)
        if extra:
            backend.create_tags([instance.id], extra)
