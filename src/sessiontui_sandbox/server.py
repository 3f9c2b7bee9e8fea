"""The sandbox server: moto on 127.0.0.1 behind a WSGI layer that adds what moto lacks.

moto keeps its state in process-wide backends, so only one Sandbox may run per process at a time;
starting one resets every moto backend.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from sessiontui.stores.paths import write_private
from sessiontui_sandbox import local_guard, scratch, sts_api
from sessiontui_sandbox.accounts import DemoAccount
from sessiontui_sandbox.datachannel.server import DataChannelServer
from sessiontui_sandbox.demo import (
    DEMO_ACCESS_KEY_ID,
    DEMO_MFA_SERIAL,
    DEMO_REGIONS,
    DEMO_ROLES,
    DEMO_ROLES_BY_ARN,
    DEMO_TOTP_ENV,
    DEMO_TOTP_SECRET,
)
from sessiontui_sandbox.services import LocalServices
from sessiontui_sandbox.sshd import SandboxSshd
from sessiontui_sandbox.sso_directory import START_PATH
from sessiontui_sandbox.state import Faults, IssuedKey, SandboxState
from sessiontui_sandbox.wsgi import SandboxApp, quiet_handler

log = logging.getLogger("sessiontui_sandbox")

_active_lock = threading.Lock()
_active: Sandbox | None = None


class SandboxError(RuntimeError):
    """Misuse of the sandbox itself (two at once, not started)."""


class Sandbox:
    """An embedded local AWS: moto plus the SSM/STS behaviour moto lacks, and a seeded fleet."""

    def __init__(
        self,
        fleet: str = "demo",
        size: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: int = 1,
        regions: list[str] | None = None,
    ) -> None:
        if fleet not in ("demo", "large", "empty"):
            raise ValueError(f"unknown fleet {fleet!r}: choose demo, large or empty")
        if accounts < 1:
            raise ValueError("accounts must be at least 1")
        self.accounts = accounts  # the large fleet is spread over this many accounts
        self.fleet = fleet
        self.size = size if size is not None else (10_000 if fleet == "large" else None)
        self.host = host
        self.port = port
        self.regions: list[str] = list(regions or DEMO_REGIONS)
        if len(set(self.regions)) != len(self.regions):
            raise ValueError(f"regions repeat: {', '.join(self.regions)}")
        self.state = SandboxState()
        self.tmpdir: Path | None = None
        self.config_path: Path | None = None
        self.plugin_path: Path | None = None
        self.start_seconds = 0.0
        self.seed_seconds = 0.0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None
        self._services: LocalServices | None = None
        self._announced: Path | None = None
        self._datachannel: DataChannelServer | None = None
        self.sso_accounts: tuple[DemoAccount, ...] = ()

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        global _active
        with _active_lock:
            if _active is not None:
                raise SandboxError(
                    "a Sandbox is already running in this process (moto's state is process-wide); "
                    "stop it first"
                )
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        began = time.perf_counter()
        from moto.moto_api._internal.models import moto_api_backend
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from sessiontui_sandbox import accounts, chained_roles, fleet, moto_tags

        moto_tags.install()
        moto_api_backend.reset()
        self.tmpdir = scratch.make()
        self._services = LocalServices(SandboxSshd(self.tmpdir / "ssh"))
        self.state.services = self._services
        self._datachannel = DataChannelServer(self.state, self.host).start()
        self.state.datachannel = self._datachannel
        self._app = SandboxApp(self.state, DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, self._app, threaded=True, request_handler=quiet_handler()
        )
        self._server.sandbox_conns = set()
        self._server.sandbox_conns_lock = threading.Lock()
        self.port = int(self._server.server_port)
        self.state.endpoint_url = self.endpoint_url
        self.state.identity_center.start_url = f"{self.endpoint_url}{START_PATH}"
        self.state.identity_center.region = self.regions[0]
        seeded = time.perf_counter()
        fleet.seed_identity()
        fleet.seed_documents(self.regions)
        if self.fleet == "demo":
            fleet.seed_governed(self.state, fleet.seed_demo(self.state))
        elif self.fleet == "large":
            ids = tuple(a.account_id for a in accounts.for_fleet("large", self.accounts))
            fleet.seed_large(self.state, int(self.size or 0), tuple(self.regions), ids)
        self.sso_accounts = accounts.for_fleet(self.fleet, self.accounts)
        accounts.seed(self.state, self.sso_accounts, self.regions, nodes=self.fleet == "demo")
        if self.sso_accounts == accounts.DEMO_ACCOUNTS:
            chained_roles.seed_chained_roles()  # roles a permission set may assume (chaining)
        self.seed_seconds = time.perf_counter() - seeded
        self._write_files()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sessiontui-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if self.fleet == "demo":
            threading.Thread(
                target=self._seed_databases, name="sandbox-databases", daemon=True
            ).start()
        else:
            self.state.databases_seeded.set()
        self.start_seconds = time.perf_counter() - began
        log.info("sandbox on %s in %.2fs", self.endpoint_url, self.start_seconds)

    def _seed_databases(self) -> None:
        """The demo's RDS, Aurora and ElastiCache, made through the sandbox's own API once it
        listens, so moto builds them as for any client (sandbox/databases.py)."""
        import boto3

        from sessiontui_sandbox.databases import REGION, DemoDatabases

        assert self._services is not None and self.tmpdir is not None
        session = boto3.session.Session(
            aws_access_key_id=DEMO_ACCESS_KEY_ID,
            aws_secret_access_key=self.state.operator_secret,
            region_name=REGION,
        )
        found = DemoDatabases(self.state, self.tmpdir / "databases")
        self._services.databases = found
        nonce = self.state.nonce

        def mark(request: Any, **_: Any) -> None:
            request.headers["X-Sandbox-Seed"] = nonce  # past the gate that waits for this

        session.events.register("before-sign", mark)
        try:
            found.seed(lambda service: session.client(service, endpoint_url=self.endpoint_url))
        except Exception:
            if self._server is not None:  # a sandbox stopped mid-seeding has nothing to say
                log.exception("the demo's databases could not be seeded")
        finally:
            self.state.databases_seeded.set()

    @property
    def databases(self) -> Any:
        """The demo's databases (sandbox/databases.py DemoDatabases), None in other fleets;
        waits for their seeding, which runs in the background from start."""
        self.state.databases_seeded.wait(timeout=60)
        return self._services.databases if self._services is not None else None

    def stop(self) -> None:
        """Idempotent: stop serving, close every socket and service, forget the temp folder."""
        global _active
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
            server.server_close()
            with server.sandbox_conns_lock:
                conns = list(server.sandbox_conns)
            for conn in conns:  # keep-alive clients would otherwise hold handler threads open
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._datachannel is not None:
            self._datachannel.stop()
            self._datachannel = None
        from sessiontui_sandbox.ssm_commands import stop_all

        stop_all(self.state)  # Run Command's scripts die with the sandbox
        if self._services is not None:
            self._services.close()
            self._services = None
        if self._announced is not None:
            from sessiontui_sandbox.approver import forget

            forget(self._announced, self.endpoint_url)
            self._announced = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def ssh(self) -> SandboxSshd | None:
        """The nodes' OpenSSH servers (sandbox/sshd.py): key_path, known_hosts, user."""
        return self._services.sshd if self._services is not None else None

    # -- where and who ------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        if self.tmpdir is None:
            raise SandboxError("start the sandbox before asking for its environment")
        out = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": self.state.operator_secret,
            "AWS_REGION": self.regions[0],
            "AWS_DEFAULT_REGION": self.regions[0],
            "AWS_CONFIG_FILE": str(self.tmpdir / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.tmpdir / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SESSIONTUI_CONFIG": str(self.tmpdir / "config.toml"),
            DEMO_TOTP_ENV: DEMO_TOTP_SECRET,
        }
        if self.plugin_path is not None:
            out["SESSIONTUI_PLUGIN"] = str(self.plugin_path)
        return out

    def _write_files(self) -> None:
        assert self.tmpdir is not None
        region = self.regions[0]
        from sessiontui_sandbox.accounts import aws_config

        sso = aws_config(self.sso_start_url, region, self.sso_accounts)
        write_private(
            self.tmpdir / "aws-config", f"[default]\nregion = {region}\noutput = json\n{sso}"
        )
        write_private(
            self.tmpdir / "aws-credentials",
            "[default]\n"
            f"aws_access_key_id = {DEMO_ACCESS_KEY_ID}\n"
            f"aws_secret_access_key = {self.state.operator_secret}\n",
        )
        self.config_path = self.tmpdir / "config.toml"
        write_private(self.config_path, demo_config(self.regions))
        try:
            from sessiontui_sandbox.plugin_wrapper import install_plugin
        except ImportError as exc:  # the stand-in's own dependencies are missing
            log.warning("stand-in plugin unavailable: %s", exc)
        else:
            self.plugin_path = install_plugin(self.tmpdir / "bin")

    def announce(self) -> None:
        """Tell the demo's approver command where this sandbox listens (sandbox/approver.py).
        Foreground sandboxes only: a test's sandbox must not write into the user's state dir."""
        from sessiontui_sandbox.approver import announce

        self._announced = announce(self.endpoint_url, self.control_token)

    @property
    def control_token(self) -> str:
        """The secret every /_sandbox/* control call carries (drawn at start)."""
        return self.state.control_token

    def control_headers(self) -> dict[str, str]:
        """The header a control call (faults, approver, MFA code helper) must carry."""
        return local_guard.bearer(self.state.control_token)

    def device_form_token(self, user_code: str) -> str:
        """The CSRF token the verification page's form carries for this code, for a test that
        posts the form without showing the page."""
        from sessiontui_sandbox.sso_page import form_token

        return form_token(self.state.page_key, user_code)

    # -- helpers for tests and the demo ---------------------------------------------------------------
    def totp_now(self) -> str:
        """A code AssumeRole accepts now: the oldest of the three accepted windows not yet used."""
        return self.state.unused_code()

    def fresh_totp(self) -> str:
        """Like totp_now, but moves the sandbox clock 30 s on when all three windows are spent."""
        if self.state.all_codes_used():
            self.clock_offset = self.clock_offset + self.state.totp.interval
        return self.state.unused_code()

    def role_credentials(
        self, role: str, duration: int = 3600, session_name: str = "operator"
    ) -> dict[str, Any]:
        """Credentials of a demo role without MFA, shaped like AssumeRole's `Credentials`."""
        arn = role if role.startswith("arn:") else f"arn:aws:iam::123456789012:role/{role}"
        if arn not in DEMO_ROLES_BY_ARN:
            raise ValueError(f"not a demo role: {role}")
        key: IssuedKey = sts_api.issue_key(self.state, arn, session_name, duration, False)
        return {
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": key.secret_access_key,
            "SessionToken": key.session_token,
            "Expiration": key.expiration,
        }

    # -- faults (the same names as POST /_sandbox/control) ------------------------------------------
    @property
    def faults(self) -> Faults:
        """The live fault settings; assigning their fields works too (unvalidated)."""
        return self.state.faults

    @property
    def throttle_rate(self) -> float:
        return self.state.faults.throttle_rate

    @throttle_rate.setter
    def throttle_rate(self, value: float) -> None:
        self._control({"throttle_rate": value})

    @property
    def down(self) -> bool:
        return self.state.faults.down

    @down.setter
    def down(self, value: bool) -> None:
        self._control({"down": value})

    @property
    def silent_agents(self) -> set[str]:
        return set(self.state.faults.silent_agents)

    @silent_agents.setter
    def silent_agents(self, value: Iterable[str]) -> None:
        self._control({"silent_agents": list(value)})

    @property
    def clock_offset(self) -> float:
        return self.state.faults.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._control({"clock_offset": value})

    @property
    def channel_lifetime(self) -> float:
        """Seconds (real time) a data channel's websocket lives before the service closes it."""
        return self.state.faults.channel_lifetime

    @channel_lifetime.setter
    def channel_lifetime(self, value: float) -> None:
        self._control({"channel_lifetime": value})

    def drop_channels(self, session_ids: Iterable[str]) -> None:
        """Cut these sessions' data channel websockets, as a network blip would."""
        self._control({"drop_channels": list(session_ids)})

    @property
    def garble(self) -> dict[str, str]:
        """Region (or "REGION/ssm", "REGION/ec2") -> "html502" | "truncated" | "reset"."""
        return dict(self.state.faults.garble)

    @garble.setter
    def garble(self, value: dict[str, str]) -> None:
        self._control({"garble": dict(value)})

    def set_ping(self, instance_id: str, status: str = "ConnectionLost") -> None:
        """A node's agent stops (or starts again) answering: its PingStatus as SSM reports it;
        what Run Command sends it meanwhile is Undeliverable."""
        with self.state.lock:
            found = [n for nodes in self.state.nodes.values() for n in nodes.values()]
            for node in found:
                if node.instance_id == instance_id:
                    node.ping_status = status
                    self.state.version += 1
                    return
        raise SandboxError(f"no node {instance_id} in the sandbox")

    def clear_faults(self) -> None:
        self._control({"throttle_rate": 0, "down": False, "silent_agents": [], "clock_offset": 0})
        self._control({"garble": {}, "denied_actions": []})

    def _control(self, data: dict[str, Any]) -> None:
        SandboxApp(self.state, lambda e, s: []).apply_control(data)

    # -- Identity Center (the same names as POST /_sandbox/control) ---------------------------------
    @property
    def sso_start_url(self) -> str:
        return self.state.identity_center.start_url

    def sso_cache_token(self) -> dict[str, str]:
        """The demo user signed in without the page, in the AWS CLI's cache format (the file
        ~/.aws/sso/cache/<sha1 of "sandbox">.json would hold it)."""
        from sessiontui_sandbox.sso_directory import cli_cache_token

        return cli_cache_token(self.state.identity_center, self.state.time())

    @property
    def sso_auto_approve(self) -> bool:
        """Device codes are approved as soon as they are issued (the demo's choice)."""
        return self.state.identity_center.auto_approve

    @sso_auto_approve.setter
    def sso_auto_approve(self, value: bool) -> None:
        self._control({"sso_auto_approve": value})

    @property
    def sso_access_token_seconds(self) -> int:
        return self.state.identity_center.access_token_seconds

    @sso_access_token_seconds.setter
    def sso_access_token_seconds(self, value: int) -> None:
        self._control({"sso_access_token_seconds": value})

    @property
    def sso_session_seconds(self) -> int:
        """How long an Identity Center sign-in lasts; refresh tokens stop working after it."""
        return self.state.identity_center.session_seconds

    @sso_session_seconds.setter
    def sso_session_seconds(self, value: int) -> None:
        self._control({"sso_session_seconds": value})

    @property
    def calls(self) -> Counter[tuple[str, str]]:
        """AWS calls received, by (service, action), faulted ones included. A copy."""
        with self.state.lock:
            return Counter(self.state.calls)

    def reset_calls(self) -> None:
        with self.state.lock:
            self.state.calls.clear()


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def demo_config(regions: list[str]) -> str:
    lines = [
        "# sessiontui demo configuration, written by the sandbox. The TOTP secret is not here:",
        f"# it is in the {DEMO_TOTP_ENV} environment variable.",
        "regions = [" + ", ".join(_toml_str(r) for r in regions) + "]",
        "",
        "[mfa]",
        f"serial = {_toml_str(DEMO_MFA_SERIAL)}",
        f"totp_secret_env = {_toml_str(DEMO_TOTP_ENV)}",
    ]
    for role in DEMO_ROLES:
        scope = ", ".join(f"{k} = {_toml_str(v)}" for k, v in role.scope.items())
        lines += [
            "",
            f"[roles.{role.name}]",
            f"arn = {_toml_str(role.arn)}",
            f"duration = {_toml_str(role.default_duration)}",
            f"scope = {{ {scope} }}" if scope else "scope = {}",
            f"reason_required = {'true' if role.reason_required else 'false'}",
        ]
    from sessiontui_sandbox.chained_roles import config_lines

    lines += config_lines()  # roles assumed from an Identity Center permission set
    # the base user may list but not send commands: --run without --role takes the fleet's role
    lines += ["", "[run]", 'role = "FleetAdmin"']

    forwards = [
        ("sessions-cache", "Name=stg-db-01", "sessions.demo.cache.amazonaws.com", 6379, 16379),
        ("staging-web", "Name=stg-web-01", "", 80, 18080),
    ]
    for name, target, host, remote, local in forwards:
        lines += ["", "[[forwards]]", f"name = {_toml_str(name)}", f"target = {_toml_str(target)}"]
        if host:
            lines.append(f"host = {_toml_str(host)}")
        lines += [f"remote_port = {remote}", f"local_port = {local}"]
    lines += database_presets()
    return "\n".join(lines) + "\n"


def database_presets() -> list[str]:
    """The demo's [[databases]] (sandbox/databases.py), in place of a forward to a made-up host."""
    from sessiontui_sandbox.databases import (
        MYSQL_INSTANCE,
        ORDERS_CLUSTER,
        ORDERS_DATABASE,
        ORDERS_USER,
        REDIS_GROUP,
        REDIS_SECRET,
    )

    presets = [
        ("orders", ORDERS_CLUSTER, ORDERS_USER, ORDERS_DATABASE, "iam", "", 15432),
        ("sessions", REDIS_GROUP, "", "", "secret", REDIS_SECRET, 16379),
        ("billing", MYSQL_INSTANCE, "admin", "billing", "secret", "", 13306),
    ]
    lines: list[str] = []
    for name, ident, user, database, auth, secret, local in presets:
        lines += ["", "[[databases]]", f"name = {_toml_str(name)}"]
        lines.append(f"identifier = {_toml_str(ident)}")
        lines += [f"user = {_toml_str(user)}"] if user else []
        lines += [f"database = {_toml_str(database)}"] if database else []
        lines.append(f"auth = {_toml_str(auth)}")
        lines += [f"secret_id = {_toml_str(secret)}"] if secret else []
        lines += ['bastion_tag = "Role=bastion"', f"local_port = {local}"]
    return lines
