"""Whether to open the operator's browser, and opening it (the sign-in page of Identity Center).

A session without a display (Linux with neither DISPLAY nor WAYLAND_DISPLAY, as over SSH) gets no
browser: `webbrowser` would fall back to a text browser that takes over the terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def has_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux") or "bsd" in platform:
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True  # macOS and Windows always have one to open a page on


def open_browser(url: str, *, allowed: bool = True) -> bool:
    """Open `url` when allowed and there is a display; True when a browser was started."""
    if not allowed or not has_display():
        return False
    import webbrowser

    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False
