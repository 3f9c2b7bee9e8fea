"""Shared fixtures.

Only one Sandbox runs per process (moto's state is process-wide), and some modules start their
own, so the shared one lives per module: started on first use, stopped when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sessiontui.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb
