"""core, aws, plugin, access and config never import Textual (only ui/ may)."""

from __future__ import annotations

import subprocess
import sys

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
