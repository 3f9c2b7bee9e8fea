"""What the sandbox's IAM Identity Center knows: its accounts, users, permission sets, the OIDC
clients registered with it, device authorizations waiting for the operator, and tokens.

Light on purpose (no moto, no state import): the sso-oidc and sso modules, the approval page and the
seeding all share it. Every time is on the sandbox clock, passed in as `now` (epoch seconds).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

# RFC 8628's user-code alphabet: no vowels or look-alikes, so a code never spells a word.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
DEVICE_CODE_SECONDS = 600
POLL_INTERVAL = 1  # AWS says 1 today; small keeps the tests fast, and slow_down still has to work
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 s to the interval
CLIENT_SECRET_SECONDS = 90 * 86400
ACCESS_TOKEN_SECONDS = 8 * 3600
SESSION_SECONDS = 8 * 3600  # Identity Center's default session length
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_GRANT = "refresh_token"
START_PATH = "/_sandbox/start"
DEVICE_PATH = "/_sandbox/device"


class RestError(Exception):
    """An error of a rest-json service: HTTP status, the x-amzn-ErrorType code, the JSON body."""

    def __init__(self, code: str, status: int, body: dict[str, str]) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.body = body


@dataclass(frozen=True)
class PermissionSet:
    name: str
    session_seconds: int
    # the IAM policy documents every call of its credentials is authorised against (iam_authz)
    policies: tuple[str, ...]


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    email: str


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    issued_at: int
    secret_expires_at: int


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending | approved | denied | used
    last_poll: float | None = None
    user: str = ""


@dataclass
class Token:
    access_token: str
    refresh_token: str | None
    client_id: str
    user: str
    expires_at: float
    session_ends_at: float  # the Identity Center session: refreshes stop working here
    logged_out: bool = False


def role_hex(account_id: str, permission_set: str) -> str:
    """The 16 hex digits AWS appends to AWSReservedSSO_<set>_; stable per account and set."""
    return hashlib.sha256(f"{account_id}/{permission_set}".encode()).hexdigest()[:16]


def reserved_role_name(account_id: str, permission_set: str) -> str:
    return f"AWSReservedSSO_{permission_set}_{role_hex(account_id, permission_set)}"


class IdentityCenter:
    """One Identity Center instance with one start URL; guarded by its own lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.start_url = ""
        self.region = "us-east-1"
        self.accounts: dict[str, Account] = {}
        self.users: set[str] = set()
        # (user, account id) -> permission sets assigned, in the portal's order
        self.assignments: dict[tuple[str, str], list[PermissionSet]] = {}
        self.clients: dict[str, Client] = {}
        self.devices: dict[str, DeviceAuthorization] = {}  # by device code
        self.tokens: dict[str, Token] = {}  # by access token
        self.refresh_tokens: dict[str, Token] = {}
        self.auto_approve = False
        self.default_user = ""
        self.access_token_seconds = ACCESS_TOKEN_SECONDS
        self.session_seconds = SESSION_SECONDS
        self.interval = POLL_INTERVAL

    # -- the directory --------------------------------------------------------------------------
    def add_account(self, account_id: str, name: str, email: str) -> Account:
        account = Account(account_id, name, email)
        with self.lock:
            self.accounts[account_id] = account
        return account

    def assign(self, user: str, account_id: str, permission_set: PermissionSet) -> None:
        with self.lock:
            self.users.add(user)
            self.default_user = self.default_user or user
            self.assignments.setdefault((user, account_id), []).append(permission_set)

    def accounts_of(self, user: str) -> list[Account]:
        with self.lock:
            ids = [a for (u, a) in self.assignments if u == user]
            return [self.accounts[a] for a in sorted(set(ids)) if a in self.accounts]

    def permission_sets(self, user: str, account_id: str) -> list[PermissionSet]:
        with self.lock:
            return list(self.assignments.get((user, account_id), []))

    def permission_set(self, user: str, account_id: str, name: str) -> PermissionSet | None:
        return next((p for p in self.permission_sets(user, account_id) if p.name == name), None)

    # -- OIDC -----------------------------------------------------------------------------------
    def register(self, name: str, scopes: list[str], now: float) -> Client:
        client = Client(
            client_id=secrets.token_urlsafe(16),
            client_secret=secrets.token_urlsafe(48),
            name=name,
            scopes=list(scopes),
            issued_at=int(now),
            secret_expires_at=int(now) + CLIENT_SECRET_SECONDS,
        )
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def client(self, client_id: str, client_secret: str, now: float) -> Client | None:
        """The client when its id and secret match and the secret has not expired."""
        with self.lock:
            client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            return None
        return client if now < client.secret_expires_at else None

    def start_device(self, client_id: str, start_url: str, now: float) -> DeviceAuthorization:
        with self.lock:
            taken = {d.user_code for d in self.devices.values()}
            while True:
                raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
                user_code = f"{raw[:4]}-{raw[4:]}"
                if user_code not in taken:
                    break
            device = DeviceAuthorization(
                device_code=secrets.token_urlsafe(48),
                user_code=user_code,
                client_id=client_id,
                start_url=start_url,
                expires_at=now + DEVICE_CODE_SECONDS,
                interval=self.interval,
            )
            if self.auto_approve:
                device.status, device.user = "approved", self.default_user
            self.devices[device.device_code] = device
        return device

    def device_by_user_code(self, user_code: str) -> DeviceAuthorization | None:
        wanted = user_code.strip().upper()
        if len(wanted) == 8 and "-" not in wanted:
            wanted = f"{wanted[:4]}-{wanted[4:]}"
        with self.lock:
            return next((d for d in self.devices.values() if d.user_code == wanted), None)

    def decide(self, user_code: str, approve: bool, now: float, user: str = "") -> str:
        """The operator's answer on the page; returns what became of the code."""
        with self.lock:
            device = self.device_by_user_code(user_code)
            if device is None:
                return "unknown"
            if now >= device.expires_at:
                return "expired"
            if device.status != "pending":
                return "answered"
            device.status = "approved" if approve else "denied"
            device.user = (user or self.default_user) if approve else ""
            return device.status

    def issue_token(self, client: Client, user: str, now: float, session_ends_at: float) -> Token:
        # AWS hands out refresh tokens only to clients registered with scopes (the sso-session
        # configuration); the legacy profile form signs in again instead.
        refresh = ("aorAAAAAG" + secrets.token_urlsafe(96)) if client.scopes else None
        token = Token(
            access_token="aoaAAAAAG" + secrets.token_urlsafe(96),
            refresh_token=refresh,
            client_id=client.client_id,
            user=user,
            # an access token never outlives the session it belongs to
            expires_at=min(now + self.access_token_seconds, session_ends_at),
            session_ends_at=session_ends_at,
        )
        with self.lock:
            self.tokens[token.access_token] = token
            if refresh is not None:
                self.refresh_tokens[refresh] = token
        return token

    def user_of(self, access_token: str, now: float) -> str | None:
        """The signed-in user behind a live access token, or None (unknown, expired, logged out)."""
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None or token.logged_out:
                return None
            if now >= min(token.expires_at, token.session_ends_at):
                return None
            return token.user

    def logout(self, access_token: str) -> bool:
        """Ends the whole Identity Center session of that token, refresh tokens included."""
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None:
                return False
            for other in list(self.tokens.values()) + list(self.refresh_tokens.values()):
                if other.user == token.user and other.session_ends_at == token.session_ends_at:
                    other.logged_out = True
            return True


def cli_cache_token(ic: IdentityCenter, now: float, user: str = "") -> dict[str, str]:
    """A whole sign-in done in-process, as the AWS CLI caches it in ~/.aws/sso/cache: for tests
    and tools that need a signed-in operator without walking through the page."""
    from datetime import UTC, datetime

    def iso(at: float) -> str:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    client = ic.register("sandbox-cli-cache", ["sso:account:access"], now)
    token = ic.issue_token(client, user or ic.default_user, now, now + ic.session_seconds)
    assert token.refresh_token is not None  # registered with scopes
    return {
        "startUrl": ic.start_url,
        "region": ic.region,
        "accessToken": token.access_token,
        "expiresAt": iso(token.expires_at),
        "refreshToken": token.refresh_token,
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "registrationExpiresAt": iso(client.secret_expires_at),
    }
