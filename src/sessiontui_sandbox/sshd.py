"""A real OpenSSH server behind the sandbox's nodes, for AWS-StartSSHSession (and forwards to 22).

Debian's `/usr/sbin/sshd`, one process per node that is reached, on 127.0.0.1 with a free port,
started lazily on the first session that needs it (so the sandbox starts as fast as before) and
stopped with the sandbox. Everything it needs lives in the sandbox's temp folder: a generated
ed25519 host key, the operator's generated ed25519 key pair (authorised), the generated config,
pid files and logs, and a `known_hosts` that trusts the host key for every name.

You log in as the user running the sandbox (root in CI), with `-i <ssh.key_path>`. Each node's sshd
sets SSM_NODE_NAME in its sessions, so `ssh prod-web-01 'echo $SSM_NODE_NAME'` says which node
it reached. (`hostname` is the machine's: Debian's bash reads ~/.bashrc, not $BASH_ENV, under sshd.)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself and insists on an absolute path
SSH_KEYGEN = "ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")  # sshd running as root refuses to start without it
START_TIMEOUT = 10.0
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def missing() -> str:
    """Why the sandbox cannot run an sshd here ("" when it can): the reason SSH tests skip with."""
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (apt-get install openssh-server)"
    if shutil.which(SSH_KEYGEN) is None:
        return "ssh-keygen is not installed (apt-get install openssh-client)"
    return ""


def ssh_hint(ssh: SandboxSshd | None) -> str:
    """Comment lines for `python -m sessiontui_sandbox`: how to reach the nodes' sshd."""
    why = missing() if ssh is not None else "the sandbox is not running"
    if ssh is None or why:
        return f"# no SSH into the nodes: {why}"
    own = ", ".join(f"~/.ssh/{p.name}" for p in ssh.authorize_own_keys())
    proxy = "sessiontui --ssh-proxy %h %p --role ProdOps --reason demo"
    also = f"; {own} authorised too" if own else ""
    return (
        f"# SSH/SCP through Session Manager as {ssh.user}{also}:\n"
        f"#   scp -i {ssh.key_path} -o UserKnownHostsFile={ssh.known_hosts} "
        f"-o ProxyCommand='{proxy}' FILE {ssh.user}@prod-web-01:/tmp/"
    )


class SshdError(RuntimeError):
    """sshd could not be started (not installed, bad config, no port)."""


@dataclass
class _Node:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=30,
    )


class SandboxSshd:
    """The sshd of each node, made on demand; `address(node_id, name)` says where one listens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self._nodes: dict[str, _Node] = {}
        self._lock = threading.Lock()
        self._keys_made = False
        self._closed = False

    # -- files ------------------------------------------------------------------------------------
    @property
    def key_path(self) -> Path:
        """The operator's private key (`ssh -i`); made on first use."""
        self._ensure_keys()
        return self.folder / "operator_ed25519"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file that trusts the sandbox's host key for any host name."""
        self._ensure_keys()
        return self.folder / "known_hosts"

    def _ensure_keys(self) -> None:
        with self._lock:
            if self._keys_made:
                return
            reason = missing()
            if reason:
                raise SshdError(reason)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            host, operator = self.folder / "host_ed25519", self.folder / "operator_ed25519"
            try:
                _keygen(host, "sessiontui-sandbox-host")
                _keygen(operator, f"{self.user}@sessiontui-sandbox")
            except (subprocess.SubprocessError, OSError) as e:
                raise SshdError(f"ssh-keygen failed: {e}") from e
            pub = operator.with_suffix(".pub").read_text(encoding="utf-8")
            (self.folder / "authorized_keys").write_text(pub, encoding="utf-8")
            host_pub = host.with_suffix(".pub").read_text(encoding="utf-8").split()
            (self.folder / "known_hosts").write_text(
                f"* {host_pub[0]} {host_pub[1]}\n", encoding="utf-8"
            )
            self._keys_made = True

    def authorize_own_keys(self, home: Path | None = None) -> list[Path]:
        """Also authorise the public keys in ~/.ssh (for the demo, so plain `ssh` works)."""
        self._ensure_keys()
        found = sorted((home or Path.home()).joinpath(".ssh").glob("id_*.pub"))
        keys = [p.read_text(encoding="utf-8", errors="replace").strip() for p in found]
        with open(self.folder / "authorized_keys", "a", encoding="utf-8") as fh:
            for key in keys:
                if key.startswith(("ssh-", "ecdsa-", "sk-")):
                    fh.write(key + "\n")
        return found

    def _config(self, node_id: str, name: str, port: int) -> Path:
        f = self.folder
        tag = _SAFE_NAME.sub("_", node_id)
        node_name = name.replace('"', "").replace("\n", " ") or node_id
        text = "\n".join(
            [
                f"ListenAddress 127.0.0.1:{port}",
                f"HostKey {f / 'host_ed25519'}",
                f"PidFile {f / f'sshd-{tag}.pid'}",
                f"AuthorizedKeysFile {f / 'authorized_keys'}",
                # the temp folder sits under world-writable /tmp, which StrictModes refuses
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {self.user}",
                "PrintMotd no",
                "UseDNS no",
                # scp speaks SFTP since OpenSSH 9.0; the in-process server needs no path
                "Subsystem sftp internal-sftp",
                f'SetEnv "SSM_NODE_NAME={node_name}"',
                "",
            ]
        )
        path = f / f"sshd-{tag}.conf"
        path.write_text(text, encoding="utf-8")
        return path

    # -- processes ----------------------------------------------------------------------------------
    def address(self, node_id: str, name: str) -> tuple[str, int] | None:
        """Where this node's sshd listens, started if need be; None when none can run."""
        try:
            self._ensure_keys()
        except SshdError:
            return None
        with self._lock:
            if self._closed:
                return None
            found = self._nodes.get(node_id)
            if found is not None and found.proc.poll() is None:
                return "127.0.0.1", found.port
            try:
                found = self._start(node_id, name)
            except SshdError:
                return None
            self._nodes[node_id] = found
            return "127.0.0.1", found.port

    def _start(self, node_id: str, name: str) -> _Node:
        if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
            with contextlib.suppress(OSError):
                PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        last = ""
        for _ in range(3):  # a free port may be taken between the probe and sshd's bind
            port = _free_port()
            conf = self._config(node_id, name, port)
            log = conf.with_suffix(".log")
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [SSHD, "-D", "-e", "-f", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,  # Ctrl-C in the demo's terminal is for the sandbox
                )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                said = log.read_text(encoding="utf-8", errors="replace")
                if "Server listening on" in said:
                    return _Node(proc, port, log)
                if proc.poll() is not None:
                    last = said.strip().splitlines()[-1] if said.strip() else "sshd exited"
                    break
                time.sleep(0.02)
            else:
                _stop(proc)
                last = "sshd did not start listening in time"
        raise SshdError(f"sshd for {node_id} did not start: {last}")

    def running(self) -> dict[str, int]:
        """node id -> port of the sshd processes alive now."""
        with self._lock:
            return {k: n.port for k, n in self._nodes.items() if n.proc.poll() is None}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            nodes = list(self._nodes.values())
            self._nodes.clear()
        for node in nodes:
            _stop(node.proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # sshd's per-connection children are in its session: end them with it
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
