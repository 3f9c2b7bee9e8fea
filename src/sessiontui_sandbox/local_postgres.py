"""A real PostgreSQL server behind the demo's Aurora cluster, started lazily like the nodes' sshd.

Debian's PostgreSQL 15 (`/usr/lib/postgresql/15/bin`): `initdb` into a fresh folder, then one
`postgres` process that listens on a Unix socket only, in a 0700 folder. There is no TCP port on
purpose: the only way in is the sandbox's IAM front (pg_iam_proxy.py), which checks the RDS token
and then joins the client to this socket, where every local user is trusted. PostgreSQL refuses
to run as root, so under root (CI) it runs as Debian's `postgres` user in a folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

BIN_DIRS = tuple(Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15))
PORT = 5432  # the socket's name (.s.PGSQL.5432); nothing listens on TCP
START_TIMEOUT = 30.0
SUPERUSER = "postgres"


def bin_dir() -> Path | None:
    for folder in BIN_DIRS:
        if os.access(folder / "postgres", os.X_OK) and os.access(folder / "initdb", os.X_OK):
            return folder
    return None


def missing() -> str:
    """Why the sandbox cannot run PostgreSQL here ("" when it can): the reason tests skip with."""
    if bin_dir() is None:
        return "PostgreSQL's server is not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run PostgreSQL as"
    return ""


class PostgresError(RuntimeError):
    """PostgreSQL could not be set up or started."""


class LocalPostgres:
    """One server for the sandbox; `socket_path()` starts it on first use. `roles` and
    `databases` are made at start: (role) and (database, owner)."""

    def __init__(self, roles: tuple[str, ...], databases: tuple[tuple[str, str], ...]) -> None:
        self.roles = roles
        self.databases = databases
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._closed = False

    @property
    def _as(self) -> str | None:
        """Who the server and its tools run as: Debian's postgres under root, else us."""
        return "postgres" if os.geteuid() == 0 else None

    def socket_path(self) -> Path:
        """The server's Unix socket, started if need be; PostgresError when it cannot run."""
        with self._lock:
            if self._closed:
                raise PostgresError("the sandbox is stopping")
            if self._proc is not None and self._proc.poll() is None and self._folder:
                return self._folder / "run" / f".s.PGSQL.{PORT}"
            why = missing()
            if why:
                raise PostgresError(why)
            self._start()
            assert self._folder is not None
            return self._folder / "run" / f".s.PGSQL.{PORT}"

    def _run(self, argv: list[str]) -> None:
        try:
            subprocess.run(
                argv,
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
                user=self._as,
                group=self._as,
            )
        except subprocess.CalledProcessError as e:
            said = (e.stderr or b"").decode(errors="replace").strip().splitlines()
            raise PostgresError(f"{Path(argv[0]).name} failed: {said[-1] if said else e}") from e
        except (OSError, subprocess.SubprocessError) as e:
            raise PostgresError(f"{Path(argv[0]).name} failed: {e}") from e

    def _start(self) -> None:
        binaries = bin_dir()
        assert binaries is not None
        # a folder of its own in the temp dir: the sandbox's is 0700 root and postgres must own
        # this one
        folder = Path(tempfile.mkdtemp(prefix="sessiontui-pg-"))
        self._folder = folder
        data, run = folder / "data", folder / "run"
        run.mkdir(mode=0o700)
        if os.geteuid() == 0:
            ids = pwd.getpwnam("postgres")
            for path in (folder, run):
                os.chown(path, ids.pw_uid, ids.pw_gid)
        self._run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        log = folder / "postgres.log"
        with open(log, "wb") as out:
            if os.geteuid() == 0:
                ids = pwd.getpwnam("postgres")
                os.chown(log, ids.pw_uid, ids.pw_gid)
            self._proc = subprocess.Popen(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(data),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    f"unix_socket_directories={run}",
                    "-c",
                    "fsync=off",
                    "-p",
                    str(PORT),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                user=self._as,
                group=self._as,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            said = log.read_text(encoding="utf-8", errors="replace")
            if "ready to accept connections" in said:
                break
            if self._proc.poll() is not None:
                raise PostgresError(f"postgres exited: {said.strip().splitlines()[-1:]}")
            time.sleep(0.05)
        else:
            raise PostgresError("postgres did not start in time")
        sql = [f'CREATE ROLE "{r}" LOGIN' for r in self.roles]
        sql += [f'CREATE DATABASE "{d}" OWNER "{o}"' for d, o in self.databases]
        psql = shutil.which("psql") or str(binaries / "psql")
        for statement in sql:
            self._run([psql, "-h", str(run), "-p", str(PORT), "-U", SUPERUSER, "-c", statement])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
            folder, self._folder = self._folder, None
        if proc is not None:
            for sig in (signal.SIGINT, signal.SIGKILL):  # SIGINT: PostgreSQL's fast shutdown
                if proc.poll() is not None:
                    break
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
