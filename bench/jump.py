"""The quick jump at fleet scale (issue 25): sessiontui against the AWS CLI, through AWS's plugin.

Against the bench's `--fleet large` sandbox (its priority lowered: AWS does its work elsewhere),
with no inventory cache, alternating the two, median of ROUNDS:

- `jump_to_prompt_s`: `sessiontui --connect NAME --role FleetAdmin`, from spawn to the node's
  shell prompt on a real pty; `aws_cli_to_prompt_s`: `aws ssm start-session --target ID` with the
  same role's credentials (the AWS CLI needs the id); `jump_ratio` = the first over the second.
- `ssh_proxy_ratio`: `sessiontui --ssh-proxy ID 22 --role FleetAdmin` (what ssh_config's
  ProxyCommand runs, HostName the id) against `aws ssm start-session --document-name
  AWS-StartSSHSession --parameters portNumber=22`, each timed to the node's SSH banner on stdout.
- `credentials_cached_s`: `sessiontui --credentials FleetAdmin` with the role's credentials cached
  (and the memo of its inputs that every call after the first finds: stores.role_memo);
  `credentials_config_s`, the same with the memo removed first, as after an edit of the config:
  the config, the AWS files and the cache read as every command reads them (no target).
- `first_rows_cold_s`: the TUI's launch with no inventory cache, to the first frame with rows
  (bench.first_frame, with an empty cache folder): the listing's first page, then its paint.

Run alone with `python -m bench.jump` (its own sandbox), or from `make bench` on the bench's.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROUNDS = int(os.environ.get("BENCH_JUMP_ROUNDS", "5"))
ROLE = "FleetAdmin"
PROMPT = r"[$#] $"
TARGETS = {
    "jump_ratio": 1.2,
    "ssh_proxy_ratio": 1.2,
    "credentials_cached_s": 0.15,
    "first_rows_cold_s": 1.0,
}


def aws_cli() -> str | None:
    """The AWS CLI's own script: a pyenv shim would add a shell's start to every run of it."""
    found = os.environ.get("BENCH_AWS_CLI") or shutil.which("aws")
    if found and "/shims/" in found and shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True)
        found = out.stdout.strip() or found
    return found


def _sessiontui(*args: str) -> list[str]:
    return [sys.executable, "-m", "sessiontui", *args]


def _no_cache(env: dict[str, str]) -> None:
    """No inventory cache: the jump must find its node without one."""
    for found in Path(env["XDG_CACHE_HOME"]).glob("sessiontui/inventory*"):
        if found.is_dir():
            shutil.rmtree(found, ignore_errors=True)
        else:
            found.unlink(missing_ok=True)


def to_prompt(argv: list[str], env: dict[str, str], timeout: float = 90) -> float:
    """Seconds from spawn to the shell's prompt on a real pty; then `exit`, and it ends."""
    import pexpect

    t0 = time.perf_counter()
    child = pexpect.spawn(
        argv[0], argv[1:], env=env, encoding="utf-8", timeout=timeout, dimensions=(30, 120)
    )
    child.expect(PROMPT)
    took = time.perf_counter() - t0
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    return took


def to_banner(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the SSH server's banner on stdout, as ssh would read it; then the
    hang-up ssh sends its ProxyCommand when it exits."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    seen = b""
    try:
        while b"SSH-" not in seen:
            data = os.read(proc.stdout.fileno(), 4096)
            if not data:
                raise RuntimeError(f"{argv[:4]} ended before the SSH banner: {seen[-200:]!r}")
            seen += data
        return time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _forget_memos(env: dict[str, str]) -> None:
    """What an edit of the config or the AWS files does to the memo: the next call reads them."""
    for found in Path(env["XDG_CACHE_HOME"]).glob("sessiontui/credentials/*.memo"):
        found.unlink(missing_ok=True)


def _wall(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - t0


def _a_node(creds: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """An online Linux EC2 node of the fleet, by one small call (the bench's, not timed)."""
    import boto3

    ssm = boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    page = ssm.describe_instance_properties(
        FiltersWithOperator=[
            {"Key": "PingStatus", "Values": ["Online"], "Operator": "Equal"},
            {"Key": "PlatformTypes", "Values": ["Linux"], "Operator": "Equal"},
            {"Key": "ResourceType", "Values": ["EC2Instance"], "Operator": "Equal"},
        ],
        MaxResults=50,
    )
    for item in page["InstanceProperties"]:
        if item.get("Name"):
            return {"id": item["InstanceId"], "name": item["Name"], "region": "us-east-1"}
    raise RuntimeError("no online Linux EC2 node with a name in us-east-1")


def _terminate_left(creds: dict[str, str], env: dict[str, str], region: str) -> None:
    """The AWS CLI leaves an SSH session it was hung up on open: end them, as a tidy operator
    would, so the node's session count does not grow over the rounds."""
    import boto3

    ssm = boto3.client(
        "ssm",
        region_name=region,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    for session in ssm.describe_sessions(State="Active").get("Sessions", []):
        ssm.terminate_session(SessionId=session["SessionId"])


def run(env: dict[str, str], rounds: int = ROUNDS) -> dict[str, Any]:
    from sessiontui.plugin.locate import find_real_plugin

    plugin, why = find_real_plugin()
    aws = aws_cli()
    if plugin is None or aws is None:
        return {"skipped": why or "the AWS CLI is not installed", "met": False}
    env = {**env, "SESSIONTUI_PLUGIN": str(plugin)}
    # the AWS CLI finds the plugin on PATH, as an operator's does
    aws_env = {**env, "PATH": f"{Path(plugin).parent}{os.pathsep}{env.get('PATH', '')}"}
    print("the quick jump: role credentials, once...", file=sys.stderr, flush=True)
    out = subprocess.run(
        _sessiontui("--credentials", ROLE), env=env, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"--credentials {ROLE} failed: {out.stderr[-2000:]}")
    creds = json.loads(out.stdout)
    for k, name in (
        ("AccessKeyId", "AWS_ACCESS_KEY_ID"),
        ("SecretAccessKey", "AWS_SECRET_ACCESS_KEY"),
        ("SessionToken", "AWS_SESSION_TOKEN"),
    ):
        aws_env[name] = creds[k]
    aws_env.pop("AWS_PROFILE", None)
    node = _a_node(creds, env)
    jump_argv = _sessiontui("--connect", node["name"], "--role", ROLE)
    aws_argv = [aws, "ssm", "start-session", "--target", node["id"], "--region", node["region"]]
    proxy_argv = _sessiontui(
        "--ssh-proxy", node["id"], "22", "--role", ROLE, "--region", node["region"]
    )
    aws_ssh_argv = [
        *aws_argv,
        "--document-name",
        "AWS-StartSSHSession",
        "--parameters",
        "portNumber=22",
    ]
    runs: dict[str, list[float]] = {
        k: [] for k in ("jump", "aws", "proxy", "aws_ssh", "creds", "creds_config")
    }
    for i in range(rounds):
        print(f"the quick jump: round {i + 1} of {rounds}...", file=sys.stderr, flush=True)
        _no_cache(env)
        runs["jump"].append(to_prompt(jump_argv, env))
        runs["aws"].append(to_prompt(aws_argv, aws_env))
        _no_cache(env)
        runs["proxy"].append(to_banner(proxy_argv, env))
        runs["aws_ssh"].append(to_banner(aws_ssh_argv, aws_env))
        _terminate_left(creds, env, node["region"])
        runs["creds"].append(_wall(_sessiontui("--credentials", ROLE), env))
        _forget_memos(env)  # this call leaves the memo again, for the next round's
        runs["creds_config"].append(_wall(_sessiontui("--credentials", ROLE), env))
    cold: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sessiontui-cold-") as empty:
        for _ in range(rounds):
            cold_env = {**env, "XDG_CACHE_HOME": empty}
            _no_cache(cold_env)
            out = subprocess.run(
                [sys.executable, "-m", "bench.first_frame", repr(time.time())],
                env=cold_env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if out.returncode != 0:
                raise RuntimeError(f"cold first frame failed: {out.stderr[-2000:]}")
            cold.append(json.loads(out.stdout.strip().splitlines()[-1])["first_frame_s"])

    def med(key: str) -> float:
        return round(statistics.median(runs[key]), 3)

    result: dict[str, Any] = {
        "plugin": str(plugin),
        "aws_cli": aws,
        "node": node,
        "rounds": rounds,
        "jump_to_prompt_s": med("jump"),
        "aws_cli_to_prompt_s": med("aws"),
        "ssh_proxy_to_banner_s": med("proxy"),
        "aws_cli_ssh_to_banner_s": med("aws_ssh"),
        "credentials_cached_s": med("creds"),
        "credentials_config_s": med("creds_config"),
        "first_rows_cold_s": round(statistics.median(cold), 3),
        "runs_s": {k: [round(v, 3) for v in vs] for k, vs in {**runs, "cold": cold}.items()},
    }
    result["jump_ratio"] = round(result["jump_to_prompt_s"] / result["aws_cli_to_prompt_s"], 3)
    result["ssh_proxy_ratio"] = round(
        result["ssh_proxy_to_banner_s"] / result["aws_cli_ssh_to_banner_s"], 3
    )
    result["met"] = all(result[k] <= v for k, v in TARGETS.items())
    return result


def main() -> int:
    """Alone: a sandbox of BENCH_NODES nodes of its own, niced as `make bench` nices it."""
    from bench.listing import bench_env, sandbox_process, stand_aside

    size = int(os.environ.get("BENCH_NODES", "10000"))
    root = Path(__file__).resolve().parent.parent
    # as `make bench` has by the time it gets here (bench.measure): from bytecode, as an installed
    # sessiontui starts; under PYTHONDONTWRITEBYTECODE each run would compile its modules again
    # (--credentials, cached: 0.157 s against 0.115 s, 2026-12-07)
    compileall.compile_dir(str(root / "src" / "sessiontui"), quiet=1)
    with (
        tempfile.TemporaryDirectory(prefix="sessiontui-jump-") as tmp,
        sandbox_process(size) as sb_env,
    ):
        env = bench_env(sb_env, tmp, root)
        stand_aside(int(sb_env["BENCH_SANDBOX_PID"]))
        print(json.dumps({"nodes": size, **run(env)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
