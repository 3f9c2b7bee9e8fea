"""`sessiontui --run` as a subprocess against the sandbox: one JSON line per node as it finishes,
the preview and summary on stderr, exit codes 0/7/3/2, Ctrl-C cancels on AWS, two accounts."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cli_support import audit_events, cli_env, run
from sandbox_support import client
from sessiontui_sandbox import Sandbox
from test_sso_access import PRODUCTION, STAGING, aws_cli_login

PRODUCTION_NODES = {  # every node of the demo fleet tagged project=Production that is online
    "prod-web-01", "prod-web-02", "prod-web-03", "prod-web-04", "prod-web-05", "prod-web-06",
    "prod-db-01", "prod-db-02", "prod-db-03", "prod-worker-01", "prod-worker-02",
    "prod-worker-03", "prod-worker-04", "jump-host", "prod-ad-01", "legacy reporting box",
    "onprem-router-01", "onprem-router-02", "prod-web-eu-01", "prod-web-eu-02", "prod-web-eu-03",
    "prod-web-eu-04", "prod-web-eu-05", "prod-db-eu-01", "prod-db-eu-02", "prod-worker-eu-01",
    "prod-worker-eu-02", "prod-worker-eu-03", "prod-eu-rdgw-01", "onprem-fra-router-01",
}  # fmt: skip


@pytest.fixture(scope="module")
def home(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One operator's home for the module: a role assumed once (with an MFA code) is cached, as
    it would be for an operator running several commands."""
    sandbox.clear_faults()
    path = tmp_path_factory.mktemp("run") / "home"
    path.mkdir()
    return path


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def config_without_run_role(sandbox: Sandbox, tmp_path: Path, run_table: str = "") -> Path:
    """The demo config with its [run] table replaced (by nothing, or by `run_table`)."""
    demo = Path(sandbox.env()["SESSIONTUI_CONFIG"]).read_text(encoding="utf-8")
    assert DEMO_RUN in demo
    path = tmp_path / "config.toml"
    path.write_text(demo.replace(DEMO_RUN, run_table), encoding="utf-8")
    return path


DEMO_RUN = '[run]\nrole = "FleetAdmin"\n'


def test_hostname_on_production_prints_one_line_per_node_and_exits_0(
    sandbox: Sandbox, home: Path
) -> None:
    """The issue's done-when, as typed: the demo's base user may list but not send commands;
    the demo config's [run] role is the access --run takes, and it says so."""
    out = run(sandbox, home, "--run", "hostname", "--tag", "project=Production", "--json")
    assert out.returncode == 0, out.stderr
    assert "access: FleetAdmin ([run] role in the config" in out.stderr
    found = lines(out.stdout)
    assert {r["name"] for r in found} == PRODUCTION_NODES
    # one line per node: jump-host is a name in both regions, so one more line than names
    assert len(found) == len({r["id"] for r in found}) == len(PRODUCTION_NODES) + 1
    for r in found:
        assert r["output"] == f"{r['name']}\n" and r["status"] == "Success"
        assert r["exit_code"] == 0 and r["account"] == "123456789012"
        assert set(r) >= {"id", "name", "account", "region", "status", "exit_code", "output"}
    windows = next(r for r in found if r["name"] == "prod-ad-01")
    assert windows["document"] == "AWS-RunPowerShellScript"
    assert "left out prod-cache-01" in out.stderr and "not connectable" in out.stderr
    # where the tag reaches a node left out, or two platforms, AWS is asked by instance ids
    assert (
        "in 123456789012 us-east-1 (by instance ids: the tag also reaches 1 node left out)"
        in out.stderr
    )
    assert f"{len(found)} nodes: {len(found)} Success" in out.stderr
    assert {e["role"] for e in audit_events(home) if e["event"] == "command_sent"} == {"FleetAdmin"}


def test_a_tag_is_sent_as_targets_with_the_reason_as_comment(sandbox: Sandbox, home: Path) -> None:
    out = run(
        sandbox, home, "--run", "hostname", "--tag", "project=Production", "--tag", "Role=web",
        "--role", "ProdOps", "--reason", "TICKET-7 inventory", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    found = lines(out.stdout)
    assert {r["name"] for r in found} >= {f"prod-web-0{i}" for i in range(1, 7)}
    assert all(r["output"] == f"{r['name']}\n" for r in found)
    assert "(by tag project=Production, Role=web)" in out.stderr
    sent = [e for e in audit_events(home) if e.get("reason") == "TICKET-7 inventory"]
    assert sent and {e["event"] for e in sent} == {"command_sent"}
    assert {e["commands"] for e in sent} == {"hostname"} and all(e["tag_targets"] for e in sent)
    admin = client(sandbox, "ssm", sent[0]["region"], sandbox.role_credentials("FleetAdmin"))
    (command,) = admin.list_commands(CommandId=sent[0]["command_id"])["Commands"]
    assert command["Comment"] == "TICKET-7 inventory", "the reason is the command's comment"
    assert command["InstanceIds"] == []
    assert command["Targets"] == [
        {"Key": "tag:project", "Values": ["Production"]},
        {"Key": "tag:Role", "Values": ["web"]},
    ]


def test_a_failing_node_exits_7_with_its_exit_code(sandbox: Sandbox, home: Path) -> None:
    out = run(
        sandbox, home, "--run", '[ "$(hostname)" != prod-db-02 ] || { echo disk full >&2; exit 4; }',
        "--filter", "prod-db-0", "--max-errors", "1", "--role", "FleetAdmin",
    )  # fmt: skip
    assert out.returncode == 7, out.stderr
    assert "== prod-db-02 (" in out.stdout and "Failed exit 4" in out.stdout
    assert "stderr: disk full" in out.stdout
    assert "1 Failed" in out.stderr


def test_refusals_exit_3(sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    scoped = run(
        sandbox, home, "--run", "uptime", "--tag", "project=Staging", "--role", "ProdOps",
        "--reason", "x",
    )  # fmt: skip
    assert scoped.returncode == 3, scoped.stderr
    assert "out of the access's scope" in scoped.stderr
    no_default = config_without_run_role(sandbox, tmp_path)
    operator = run(
        sandbox, home, "--run", "uptime", "--target", "prod-web-01",
        extra={"SESSIONTUI_CONFIG": str(no_default)},
    )  # fmt: skip
    assert operator.returncode == 3, operator.stderr
    assert "SendCommand" in operator.stderr and "Traceback" not in operator.stderr
    # the base user may not send: the roles whose scope reaches the node, narrowest first
    assert "roles in the config that reach these nodes: ProdOps, FleetAdmin" in operator.stderr


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--run", "uptime"], "--run needs nodes"),
        (["--run", "uptime", "--tag", "a=b", "--max-concurrency", "0"], "--max-concurrency"),
        (["--run", "uptime", "--tag", "a=b", "--max-errors", "x"], "--max-errors"),
        (["--run", "uptime", "--tag", "a=b", "--parameter", "a=b"], "--document"),
        (["--run", "uptime", "--tag", "a=b", "--timeout", "soon"], "duration"),
        (["--target", "web-01"], "--target goes with --run"),
    ],
)
def test_bad_input_exits_2_in_words(
    sandbox: Sandbox, home: Path, argv: list[str], said: str
) -> None:
    out = run(sandbox, home, *argv)
    assert out.returncode == 2, out.stderr
    assert said in out.stderr and "Traceback" not in out.stderr


def test_an_unknown_document_exits_2(sandbox: Sandbox, home: Path) -> None:
    out = run(
        sandbox, home, "--run", "x", "--target", "prod-web-01", "--document", "No-Such",
        "--role", "FleetAdmin",
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "No-Such" in out.stderr


def test_timeout_is_the_execution_timeout_and_a_timed_out_node_exits_7(
    sandbox: Sandbox, home: Path
) -> None:
    """--timeout D reaches AWS as the script's executionTimeout: the sandbox kills the script at
    it (TimedOut, ExecutionTimedOut), not at its delivery timeout or AWS's default hour."""
    began = time.monotonic()
    out = run(
        sandbox, home, "--run", "sleep 30", "--target", "dev-web-01", "--timeout", "2s",
        "--role", "FleetAdmin", "--json",
    )  # fmt: skip
    assert out.returncode == 7, out.stderr
    assert time.monotonic() - began < 25, "killed at two seconds, not after the script's 30"
    (line,) = lines(out.stdout)
    assert line["status"] == "TimedOut" and line["name"] == "dev-web-01"
    assert "1 TimedOut" in out.stderr
    admin = client(sandbox, "ssm", line["region"], sandbox.role_credentials("FleetAdmin"))
    (sent,) = admin.list_commands(CommandId=line["command_id"])["Commands"]
    assert sent["Parameters"]["executionTimeout"] == ["2"]
    assert sent.get("TimeoutSeconds") != 2, "the execution timeout, not the delivery timeout"
    (inv,) = admin.list_command_invocations(CommandId=line["command_id"])["CommandInvocations"]
    assert (inv["Status"], inv["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


def test_timeout_with_a_document_without_an_execution_timeout_exits_2(
    sandbox: Sandbox, home: Path
) -> None:
    """Ops-CollectFacts declares no executionTimeout: --timeout is refused, not dropped."""
    out = run(
        sandbox, home, "--run", "x", "--target", "dev-web-01", "--document", "Ops-CollectFacts",
        "--timeout", "5s", "--role", "FleetAdmin",
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "--timeout: Ops-CollectFacts has no executionTimeout parameter" in out.stderr


def test_timeout_is_a_named_documents_execution_timeout_where_it_declares_one() -> None:
    """No sandbox document but the script ones declares executionTimeout (AWS-RunRemoteScript
    does on AWS): a stand-in DescribeDocument."""
    from sessiontui.operations.run_command import RunSpec, with_document_timeout

    class Ssm:
        def describe_document(self, Name: str) -> dict[str, Any]:
            return {
                "Document": {"Parameters": [{"Name": "sourceInfo"}, {"Name": "executionTimeout"}]}
            }

    class Factory:
        def client(self, service: str, region: str | None = None) -> Ssm:
            return Ssm()

    asked = RunSpec(document="AWS-RunRemoteScript", timeout=90, parameters={"sourceInfo": ["{}"]})
    spec = with_document_timeout(Factory(), "us-east-1", asked)  # type: ignore[arg-type]
    assert spec.parameters_for("AWS-RunRemoteScript") == {
        "sourceInfo": ["{}"],
        "executionTimeout": ["90"],
    }


def test_ctrl_c_cancels_the_command_on_aws(sandbox: Sandbox, home: Path) -> None:
    ssm = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    before = {c["CommandId"] for c in ssm.list_commands()["Commands"]}
    child = subprocess.Popen(
        [sys.executable, "-m", "sessiontui", "--run", "sleep 60", "--filter", "stg-web-0",
         "--role", "FleetAdmin", "--json"],
        env=cli_env(sandbox, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        command: dict[str, Any] = {}
        while not command or command["Status"] != "InProgress":
            assert time.monotonic() < deadline, "the command never started"
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            fresh = [c for c in ssm.list_commands()["Commands"] if c["CommandId"] not in before]
            command = fresh[0] if fresh else {}
            time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert "cancelling the command on AWS" in err and "Traceback" not in err
    (after,) = ssm.list_commands(CommandId=command["CommandId"])["Commands"]
    assert after["Status"] in ("Cancelled", "Cancelling")
    assert {r["status"] for r in lines(out)} <= {"Cancelled"}
    assert any(e["event"] == "command_cancelled" for e in audit_events(home))


def test_a_run_across_two_accounts_uses_each_accounts_access(sandbox: Sandbox, home: Path) -> None:
    aws_cli_login(sandbox, home)
    out = run(
        sandbox, home, "--run", "hostname", "--filter", "api-0",
        "--role", "Production/ProductionAccess", "--role", "Staging/DeveloperAccess", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    found = {r["name"]: r for r in lines(out.stdout)}
    assert {"prod-api-01", "prod-api-02", "prod-api-03", "staging-api-01"} <= set(found)
    assert found["prod-api-01"]["account"].startswith(("Production", PRODUCTION))
    assert found["staging-api-01"]["account"].startswith(("Staging", STAGING))
    assert all(r["output"] == f"{name}\n" for name, r in found.items())


def test_run_config_sends_output_to_the_bucket_and_bad_keys_exit_2(
    sandbox: Sandbox, home: Path, tmp_path: Path
) -> None:
    good = config_without_run_role(
        sandbox,
        tmp_path,
        '[run]\ns3_bucket = "ops-command-output"\ncloudwatch_log_group = "/ops/run-command"\n'
        'role = "FleetAdmin"\n',
    )
    out = run(
        sandbox, home, "--run", "hostname", "--target", "dev-web-01", "--json",
        extra={"SESSIONTUI_CONFIG": str(good)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (line,) = lines(out.stdout)
    assert "ops-command-output" in line["output_url"] and line["output"] == "dev-web-01\n"
    assert line["log_group"] == "/ops/run-command"
    admin = client(sandbox, "ssm", line["region"], sandbox.role_credentials("FleetAdmin"))
    (sent,) = admin.list_commands(CommandId=line["command_id"])["Commands"]
    assert sent["CloudWatchOutputConfig"] == {
        "CloudWatchLogGroupName": "/ops/run-command",
        "CloudWatchOutputEnabled": True,
    }
    for table, said in [
        ('[run]\nbucket = "x"\n', "bucket"),
        ('[run]\ns3_bucket = "Ops_Output"\n', "not an S3 bucket name"),
        ('[run]\ncloudwatch_log_group = "ops logs"\n', "not a log group name"),
    ]:
        bad = config_without_run_role(sandbox, tmp_path, table)
        refused = run(
            sandbox, home, "--run", "hostname", "--target", "dev-web-01",
            extra={"SESSIONTUI_CONFIG": str(bad)},
        )  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        assert "config.toml:" in refused.stderr and said in refused.stderr, refused.stderr


def test_output_on_the_terminal_is_text_with_its_controls_visible(
    sandbox: Sandbox, home: Path
) -> None:
    out = run(
        sandbox, home, "--run", r"printf '\033]0;owned\007\033[2Jtab\there\n'",
        "--target", "dev-web-02", "--role", "FleetAdmin",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    # the escapes as text; the tab as spaces
    assert re.search(r"\n   \\x1b\]0;owned\\x07\\x1b\[2Jtab +here\n", out.stdout), out.stdout
