"""Everything the sandbox remembers that moto does not: SSM nodes, sessions, keys, MFA, faults."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from sessiontui_sandbox.demo import (
    DEMO_ACCOUNT,
    DEMO_MFA_SERIAL,
    DEMO_TOTP_SECRET,
    DEMO_USER_ARN,
    DEMO_USER_ID,
    MAX_SESSION_MINUTES,
)
from sessiontui_sandbox.jit_requests import AccessBook
from sessiontui_sandbox.sso_directory import IdentityCenter

EC2_INSTANCE = "EC2Instance"
MANAGED_INSTANCE = "ManagedInstance"


class AwsError(Exception):
    """An AWS error reply; rendered as JSON or XML by the protocol of the service called."""

    def __init__(
        self, code: str, message: str, status: int = 400, message_key: str = "message"
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        # Modeled SSM exceptions carry "Message"; front-end ones (validation, throttling) "message".
        self.message_key = message_key


CHANNEL_LIFETIME = 3600.0


@dataclass
class Faults:
    throttle_rate: float = 0.0
    down: bool = False
    silent_agents: set[str] = field(default_factory=set)
    clock_offset: float = 0.0
    garble: dict[str, str] = field(default_factory=dict)  # region -> kind (sandbox/garble.py)
    # "service:Action" the caller's policies do not allow (AccessDeniedException), whoever calls
    denied_actions: set[str] = field(default_factory=set)
    # seconds (real time) a data channel's websocket lives before the service closes it (AWS: about an hour);
    # the plugin then resumes, and a resume signed with expired credentials is refused
    channel_lifetime: float = CHANNEL_LIFETIME

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_rate": self.throttle_rate,
            "down": self.down,
            "silent_agents": sorted(self.silent_agents),
            "clock_offset": self.clock_offset,
            "garble": dict(self.garble),
            "denied_actions": sorted(self.denied_actions),
            "channel_lifetime": self.channel_lifetime,
        }


@dataclass
class IssuedKey:
    """Temporary credentials the sandbox's STS handed out."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    role_arn: str
    role_name: str
    session_name: str
    role_id: str
    expiration: datetime
    chained: bool
    account: str = DEMO_ACCOUNT  # Identity Center issues keys in other accounts
    # the IAM policy documents every call with this key is authorised against (iam_authz)
    policies: tuple[str, ...] = ()
    # a session policy: what the credentials may do is what both it and `policies` allow
    session_policy: str = ""
    mfa: bool = False  # AssumeRole was given a good MFA code: aws:MultiFactorAuthPresent
    principal_tags: dict[str, str] = field(default_factory=dict)  # the role's, aws:PrincipalTag/*

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


@dataclass(frozen=True)
class Caller:
    arn: str
    user_id: str
    session_name: str
    key: IssuedKey | None = None

    @property
    def is_role(self) -> bool:
        return self.key is not None

    @property
    def account(self) -> str:
        return self.key.account if self.key is not None else DEMO_ACCOUNT


BASE_CALLER = Caller(DEMO_USER_ARN, DEMO_USER_ID, "operator")


@dataclass
class ManagedNode:
    """What SSM knows about one node (DescribeInstanceInformation's fields)."""

    instance_id: str
    region: str
    resource_type: str
    ping_status: str
    platform_type: str
    platform_name: str
    platform_version: str
    agent_version: str
    ip_address: str
    computer_name: str
    iam_role: str
    ping_age: float = 60.0  # seconds between the last ping and "now"
    is_latest_version: bool = True
    association_status: str = "Success"
    name: str = ""  # hybrid nodes only: the activation's registration name
    activation_id: str = ""
    registration_age: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)  # hybrid nodes only; EC2 tags live in moto
    ec2: Any = None  # the moto Instance object, read live for state and tags
    account: str = DEMO_ACCOUNT

    @property
    def is_hybrid(self) -> bool:
        return self.resource_type == MANAGED_INSTANCE


@dataclass
class SessionRecord:
    session_id: str
    token: str
    target: str
    region: str
    document: str
    parameters: dict[str, list[str]]
    reason: str
    owner: str
    start: datetime
    node_name: str
    platform: str
    destination: tuple[str, int] | None = None
    status: str = "Connected"
    end: datetime | None = None
    end_reason: str = ""
    max_minutes: int = MAX_SESSION_MINUTES
    terminated_by: str = ""  # the caller whose TerminateSession ended it
    # the starter's aws:userid: AWS tags the session with it (aws:ssmmessages:session-id), so a
    # policy can let each caller end and resume only its own sessions
    owner_id: str = ""


class SandboxState:
    """Shared by the WSGI handlers (many threads) and the Sandbox object; guarded by one lock."""

    def __init__(self, seed: int = 20261121) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.keys: dict[str, IssuedKey] = {}
        self.used_mfa: set[tuple[str, int]] = set()
        self.nodes: dict[str, dict[str, ManagedNode]] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.rng = random.Random(seed)
        self.nonce = secrets.token_hex(4)
        # Drawn at each start, never constants: whoever reads the source must not be the operator.
        # The demo operator's secret access key (its key id stays DEMO_ACCESS_KEY_ID).
        self.operator_secret = secrets.token_urlsafe(30)
        # What /_sandbox/* control calls carry (local_guard.py); the pointer file keeps it.
        self.control_token = secrets.token_urlsafe(32)
        # Signs the CSRF tokens of the sandbox's own HTML forms.
        self.page_key = secrets.token_bytes(32)
        self.endpoint_url = ""
        self.version = 0  # bumps whenever nodes change, so cached query results go stale
        self.services: Any = None  # services.LocalServices, set by the Sandbox
        self.datachannel: Any = None  # datachannel.server.DataChannelServer, set by the Sandbox
        self.totp = pyotp.TOTP(DEMO_TOTP_SECRET)
        self.access = AccessBook()  # just-in-time node access requests (ssm_access)
        # set once the demo's databases are in moto (at once for fleets without them)
        self.databases_seeded = threading.Event()
        self.identity_center = IdentityCenter()
        self.run_commands: Any = None  # ssm_commands.CommandBook, made on the first SendCommand

    # The sandbox clock: real time plus the clock_offset fault.
    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.faults.clock_offset)

    def time(self) -> float:
        return time.time() + self.faults.clock_offset

    # -- callers ------------------------------------------------------------------------------
    def caller_for(self, access_key_id: str) -> Caller:
        """The caller a request's key stands for: a temporary key's role session, else the demo
        operator's base user (auth.check has already refused every key the sandbox never issued,
        so only the operator's own key gets here without an entry)."""
        key = self.keys.get(access_key_id)
        if key is None:
            return BASE_CALLER
        return Caller(key.arn, f"{key.role_id}:{key.session_name}", key.session_name, key)

    def is_expired(self, access_key_id: str) -> bool:
        key = self.keys.get(access_key_id)
        return key is not None and key.expiration <= self.now()

    # -- MFA ------------------------------------------------------------------------------------
    def mfa_window(self, at: float | None = None) -> int:
        return int((self.time() if at is None else at) // self.totp.interval)

    def check_mfa(self, serial: str, code: str) -> bool:
        """One window either side is accepted; a (device, window) pair works once."""
        if serial != DEMO_MFA_SERIAL:
            return False
        now_window = self.mfa_window()
        with self.lock:
            for window in (now_window, now_window - 1, now_window + 1):
                if self.totp.at(window * self.totp.interval) == code:
                    if (serial, window) in self.used_mfa:
                        return False
                    self.used_mfa.add((serial, window))
                    return True
        return False

    def unused_code(self) -> str:
        """The code of the oldest accepted window not yet used, else the current one.

        The previous window is skipped in the last 10 s of the current one: by the time a loaded
        machine has sent the code, that window may no longer be accepted."""
        now = self.time()
        now_window = self.mfa_window(now)
        closing = now - now_window * self.totp.interval > self.totp.interval - 10
        with self.lock:
            for window in (now_window - 1, now_window, now_window + 1)[closing:]:
                if (DEMO_MFA_SERIAL, window) not in self.used_mfa:
                    return str(self.totp.at(window * self.totp.interval))
        return str(self.totp.at(now_window * self.totp.interval))

    def all_codes_used(self) -> bool:
        w = self.mfa_window()
        with self.lock:
            return all((DEMO_MFA_SERIAL, x) in self.used_mfa for x in (w - 1, w, w + 1))

    # -- nodes ----------------------------------------------------------------------------------
    def add_node(self, node: ManagedNode) -> None:
        with self.lock:
            self.nodes.setdefault(node.region, {})[node.instance_id] = node
            self.version += 1

    def find_node(
        self, region: str, instance_id: str, account: str | None = None
    ) -> ManagedNode | None:
        """With `account`, a node of another account is not there (as AWS sees it)."""
        node = self.nodes.get(region, {}).get(instance_id)
        if node is not None and account is not None and node.account != account:
            return None
        return node

    def end_session(self, record: SessionRecord, reason: str, by: str = "") -> None:
        """End a session once; `by` is the caller whose TerminateSession did it, if one did."""
        with self.lock:
            if self.session_status(record) != "Terminated":
                record.status = "Terminated"
                record.end = self.now()
                record.end_reason = reason
                record.terminated_by = by

    def session_status(self, record: SessionRecord) -> str:
        """Sessions end by themselves at the preferences' maxSessionDuration."""
        with self.lock:
            if record.status != "Terminated":
                limit = record.start + timedelta(minutes=record.max_minutes)
                if self.now() >= limit:
                    record.status = "Terminated"
                    record.end = limit
                    record.end_reason = (
                        "Your session has reached its maximum duration and has been terminated."
                    )
            return record.status
