"""Two real `sessiontui` processes with one TOTP secret, started in one 30-second window.

The sandbox's STS refuses a (device, window) pair it has already accepted, as AWS does, and
checks codes against real time here (fresh sandboxes: clock offset 0, no window spent). Both
processes must get the role:

- one home (one machine): the window state file they share makes the second wait for the next
  window before it sends anything, so AWS refuses nothing;
- two homes (two machines, or two tools): neither knows what the other sent, so one code is
  refused; that process says so, waits for the next window and succeeds with its code.

This runs on the real clock, so it takes until the next window boundary (at most ~30 s); both
cases run at once, each against its own sandbox (its own MFA device), to pay that wait once.
`--duration` keeps the second process of one home from picking up the first one's cached
credentials, so both really call AssumeRole.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import cli_env
from sessiontui.core.mfa_window import STEP
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.demo import DEMO_MFA_SERIAL

ROLE = "StagingDev"
# how long both processes may take from their start to their first AssumeRole, at most; they
# are started only when at least this much of the current window is left
STARTUP_BUDGET = 12.0

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def start(sb: Sandbox, home: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`--list --json --role` as an operator runs it; `env` points it at another sandbox."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "sessiontui", "--list", "--json"),
            *("--role", ROLE, "--duration", "15m", "--tag", "project=Staging"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sb, home, env),
        stdin=subprocess.DEVNULL,
    )


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        out.append((proc.returncode, stdout, stderr))
    return out


def assert_listed_with_the_role(result: tuple[int, str, str]) -> str:
    code, stdout, stderr = result
    assert code == 0, stderr
    assert "Traceback" not in stderr
    nodes = json.loads(stdout)
    assert nodes and all(n["tags"].get("project") == "Staging" for n in nodes)
    return stderr


def last_window(home: Path) -> int:
    data = json.loads((home / "state" / "sessiontui" / "mfa-windows.json").read_text())
    return int(data["windows"][DEMO_MFA_SERIAL])


@pytest.fixture
def other_sandbox() -> Iterator[tuple[dict[str, str], str]]:
    """A second sandbox, in its own process (one per process): its env and endpoint."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiontui_sandbox", "--fleet", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        env: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].rstrip("\n").partition("=")
                env[key] = shlex.split(value)[0]
            elif line.startswith("# sandbox on"):
                break
        assert "AWS_ENDPOINT_URL" in env, "the second sandbox did not start"
        yield env, env["AWS_ENDPOINT_URL"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def assume_calls(endpoint: str, token: str) -> int:
    request = urllib.request.Request(
        f"{endpoint}/_sandbox/calls", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(json.load(answer)["calls"].get("sts:AssumeRole", 0))


def test_one_home_and_two_machines_all_in_one_window_every_process_gets_the_role(
    sb: Sandbox, other_sandbox: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    """Both cases at once, against two sandboxes (two devices), so they share the wait."""
    other_env, other_endpoint = other_sandbox
    home = tmp_path / "ops"  # one machine, two terminals: against the second sandbox
    machines = [tmp_path / "laptop", tmp_path / "jump-box"]  # against the first
    left = STEP - time.time() % STEP
    if left < STARTUP_BUDGET:
        time.sleep(left + 0.1)  # too close to the boundary: start at the next window's beginning
    first_window = int(time.time() // STEP)
    procs = [start(sb, home, other_env), start(sb, home, other_env)]
    procs += [start(sb, machine) for machine in machines]
    results = finish(procs)
    stderrs = [assert_listed_with_the_role(r) for r in results]

    # one home: the shared window state made the second wait; AWS refused nothing
    assert not any("refused" in e for e in stderrs[:2]), stderrs[:2]
    assert assume_calls(other_endpoint, other_env["SESSIONTUI_SANDBOX_TOKEN"]) == 2
    assert last_window(home) == first_window + 1

    # two machines: one code refused, that process said so, waited and got it with the next
    retried = [e for e in stderrs[2:] if "MFA code refused" in e]
    assert len(retried) == 1, stderrs[2:]
    notice = [line for line in retried[0].splitlines() if "MFA code refused" in line]
    assert len(notice) == 1
    assert notice[0].startswith("sessiontui: MFA code refused (already used: another sessiontui")
    assert "trying once more with the next code in" in notice[0]
    # three AssumeRole: both in the first window (one refused), the retry in the next
    assert sb.calls[("sts", "AssumeRole")] == 3
    assert sorted(last_window(m) for m in machines) == [first_window, first_window + 1]
