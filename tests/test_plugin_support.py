"""Shared helpers for the plugin and session tests (no tests in this file).

`aws_under_test()` runs the real `Sandbox` and picks the nodes the tests need from its seeded
fleet; `DRIVER` runs the supervisor in its own process, as the CLI does, so tests can give it a
terminal and send it real signals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from sessiontui.core.credentials import Credentials

# Every test that drives a plugin runs twice: with the stand-in and with AWS's own plugin.
PLUGIN_KINDS = ["stand-in", "real"]  # and the `plugin` fixture in conftest.py


REAL_SKIP = "AWS's plugin absent, real half skipped: "  # conftest folds these into one line


def real_plugin_or_skip() -> Path:
    from sessiontui.plugin.locate import find_real_plugin

    path, why = find_real_plugin()
    if path is None:
        pytest.skip(REAL_SKIP + why)
    return path


def plugin_for(kind: str, sb: Any) -> Path:
    """The plugin of that kind; the real half is skipped (one reason, one line) where none is."""
    if kind == "stand-in":
        return Path(sb.plugin_path)
    return real_plugin_or_skip()


def ssm_client(endpoint_url: str, creds: Credentials, region: str) -> Any:
    return boto3.client("ssm", region_name=region, endpoint_url=endpoint_url, **creds.boto_kwargs())


@dataclass
class AwsUnderTest:
    """What the tests need from the sandbox."""

    sb: Any
    region: str
    web_id: str  # Online node tagged project=Production
    web_name: str
    stg_id: str  # Online node tagged project=Staging: outside ProdOps' scope
    lost_id: str  # not Online
    mute_id: str  # Online, Production, but its agent never answers
    admin: Credentials  # FleetAdmin: no scope
    scoped: Credentials  # ProdOps: project=Production
    kind: str = "stand-in"  # which plugin: "stand-in" or "real"
    plugin: Path | None = None

    @property
    def endpoint_url(self) -> str:
        return str(self.sb.endpoint_url)

    @property
    def plugin_path(self) -> Path:
        return self.plugin if self.plugin is not None else Path(self.sb.plugin_path)

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def client(self, creds: Credentials | None = None) -> Any:
        return ssm_client(self.endpoint_url, creds or self.admin, self.region)

    def status(self, session_id: str) -> str:
        for state in ("Active", "History"):
            resp = self.client().describe_sessions(
                State=state, Filters=[{"key": "SessionId", "value": session_id}]
            )
            if resp["Sessions"]:
                return str(resp["Sessions"][0]["Status"])
        return "Unknown"

    def terminate_elsewhere(self, session_id: str) -> None:
        self.client().terminate_session(SessionId=session_id)

    def calls(self, action: str) -> int:
        return int(self.sb.calls.get(("ssm", action), 0))

    def role(self, name: str, duration: int = 3600) -> Credentials:
        raw = self.sb.role_credentials(name, duration)
        return Credentials(
            raw["AccessKeyId"],
            raw["SecretAccessKey"],
            raw["SessionToken"],
            raw["Expiration"],
            role_name=name,
            role_arn=f"arn:aws:iam::123456789012:role/{name}",
        )


@contextmanager
def aws_under_test(sb: Any, kind: str = "stand-in") -> Iterator[AwsUnderTest]:
    """Around the module's running Sandbox (the `sandbox` fixture of tests/conftest.py), with the
    plugin of `kind` (skips the test when AWS's is wanted and absent)."""
    from sessiontui_sandbox.ssm_nodes import node_name, node_tags

    plugin = plugin_for(kind, sb)
    try:
        region = sb.regions[0]
        online: dict[str, list[tuple[str, str]]] = {}
        lost = ""
        for node in sb.state.nodes[region].values():
            if node.platform_type != "Linux":
                continue
            tags = node_tags(region, node, node.instance_id)
            name = node_name(region, node, node.instance_id)
            if node.ping_status != "Online":
                lost = lost or node.instance_id
                continue
            online.setdefault(tags.get("project", ""), []).append((node.instance_id, name))
        prod = sorted(online["Production"], key=lambda n: n[1])
        web, mute = prod[0], prod[-1]
        sb.silent_agents = {mute[0]}
        env = AwsUnderTest(
            sb=sb,
            region=region,
            web_id=web[0],
            web_name=web[1],
            stg_id=online["Staging"][0][0],
            lost_id=lost,
            mute_id=mute[0],
            admin=Credentials("x", "x"),
            scoped=Credentials("x", "x"),
            kind=kind,
            plugin=plugin,
        )
        env.admin = env.role("FleetAdmin", 7200)
        env.scoped = env.role("ProdOps", 3600)
        yield env
    finally:
        sb.clear_faults()


DRIVER = r"""
import json, sys
from datetime import datetime
from pathlib import Path
import boto3
from sessiontui.stores.audit import AuditLog
from sessiontui.core.credentials import Credentials
from sessiontui.plugin.locate import locate_plugin
from sessiontui.plugin.signals import ShutdownRequested
from sessiontui.plugin.supervisor import SessionSupervisor

cfg = json.loads(Path(sys.argv[1]).read_text())
c = cfg["creds"]
exp = datetime.fromisoformat(c["expiration"]) if c.get("expiration") else None
creds = Credentials(c["access_key_id"], c["secret_access_key"], c["session_token"], exp,
                    c.get("role_name", ""), c.get("role_arn", ""))
ssm = boto3.client("ssm", region_name=cfg["region"], endpoint_url=cfg["endpoint_url"],
                   **creds.boto_kwargs())
sup = SessionSupervisor(ssm, creds, locate_plugin(cfg["plugin"]), audit=AuditLog(Path(cfg["audit"])))
out = Path(cfg["result"])
try:
    if cfg["mode"] == "shell":
        r = sup.run_shell(cfg["target"], node_name=cfg.get("node_name", ""))
        out.write_text(json.dumps({"how": r.how, "reason": r.reason, "session_id": r.session_id,
                                   "terminated": r.terminated, "seconds": r.seconds}))
    else:
        def ready(fw):
            print("READY " + json.dumps(fw.ready_json()), flush=True)
        fw = sup.run_forward(cfg["target"], cfg["remote_port"], local_port=cfg.get("local_port", 0),
                             ready_timeout=cfg.get("ready_timeout", 30), on_ready=ready)
        out.write_text(json.dumps({"how": fw.how, "reason": fw.reason, "session_id": fw.session_id}))
except ShutdownRequested as e:
    out.write_text(json.dumps({"shutdown": e.name}))
    sys.exit(128 + e.signum)
"""


def write_driver(tmp: Path, aws: AwsUnderTest, creds: Credentials, **cfg: Any) -> tuple[Path, Path]:
    """(driver script, config file): run `python driver config`; results land in tmp/result.json."""
    script = tmp / "driver.py"
    script.write_text(DRIVER)
    conf = tmp / "driver.json"
    cfg.update(
        creds={
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key,
            "session_token": creds.session_token,
            "expiration": creds.expiration.isoformat() if creds.expiration else None,
            "role_name": creds.role_name,
            "role_arn": creds.role_arn,
        },
        region=aws.region,
        endpoint_url=aws.endpoint_url,
        plugin=str(aws.plugin_path),
        audit=str(tmp / "audit.jsonl"),
        result=str(tmp / "result.json"),
    )
    conf.write_text(json.dumps(cfg))
    return script, conf


def result(tmp: Path) -> dict[str, Any]:
    return dict(json.loads((tmp / "result.json").read_text()))


def plugin_dir(tmp: Path) -> Path:
    from sessiontui_sandbox.plugin_wrapper import install_plugin

    return install_plugin(tmp / "bin")
