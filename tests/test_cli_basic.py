"""The CLI's cheap paths, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from sessiontui.cli import main
try:
    main([{arg!r}])
except SystemExit:
    pass
heavy = sorted(m for m in ("textual", "boto3", "botocore", "pexpect") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("arg", ["--version", "--help"])
def test_version_and_help_import_neither_textual_nor_boto3(arg: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(arg=arg)], capture_output=True, text=True, check=True
    )
    assert "HEAVY:\n" in out.stdout, out.stdout
    assert "sessiontui" in out.stdout


def test_version_prints_the_package_version() -> None:
    from sessiontui import __version__

    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"sessiontui {__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["--forward", "80"],
        ["--json"],
        ["--list", "--connect", "x"],
        ["--list", "--tag", "novalue"],
    ],
)
def test_usage_errors_exit_2_without_traceback(argv: list[str], tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", *argv],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_REGION": "us-east-1"},
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.strip()


def test_a_port_given_as_the_forwards_host_is_refused(tmp_path: object) -> None:
    """`--forward 1:18080:80`: 18080 is no host; the node would only fail to resolve it."""
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--connect", "x", "--forward", "1:18080:80"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_REGION": "us-east-1"},
    )
    assert out.returncode == 2, out.stderr
    assert "18080 is a port number, not a host name or address" in out.stderr
    assert "Traceback" not in out.stderr
