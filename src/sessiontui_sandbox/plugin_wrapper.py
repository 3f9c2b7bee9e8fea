"""Install the stand-in plugin as an executable named `session-manager-plugin`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sessiontui.plugin.locate import PLUGIN_NAME

FAKEPLUGIN = Path(__file__).with_name("fakeplugin.py")


def install_plugin(directory: Path) -> Path:
    """Write `directory/session-manager-plugin` and return its path.

    The script runs fakeplugin.py by path rather than importing it, so starting a session never
    imports the sandbox package (and moto with it): the stand-in starts in tens of milliseconds.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / PLUGIN_NAME
    script = (
        f"#!{sys.executable}\n"
        "import runpy\n"
        f"runpy.run_path({str(FAKEPLUGIN)!r}, run_name='__main__')\n"
    )
    tmp = target.with_name(f".{PLUGIN_NAME}.tmp")
    tmp.write_text(script, encoding="utf-8")
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target
