"""core, aws, plugin, access and config never import Textual (only ui/ may)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pkgutil, sys
import sessiontui.core, sessiontui.aws, sessiontui.plugin, sessiontui.access
for pkg in (sessiontui.core, sessiontui.aws, sessiontui.plugin, sessiontui.access):
    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
import sessiontui.config
import sessiontui.ui.services
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(",".join(bad))
"""


def test_lower_layers_do_not_import_textual() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"textual imported by a lower layer: {out.stdout}"


def test_the_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts (layers, Textual only in ui, the sandbox only
    through sessiontui.demo, no cycles in a package), over every import, lazy ones included."""
    linter = Path(sys.executable).with_name("lint-imports")
    if not linter.exists():
        pytest.skip("import-linter (the dev extra) is not installed in this venv")
    out = subprocess.run(
        [str(linter)], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert out.returncode == 0, out.stdout[-3000:]
