"""What a listing of the fleet gives back: its nodes and each region that failed.

Its own module, apart from aws/inventory.py, because the TUI's side of the listing process
reads these and must not import botocore's parsers with them: that import ran in the listing's
worker thread while the first frame was being drawn, and delayed a cold start's first rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessiontui.aws.sessions import SessionPreferences
    from sessiontui.core.node import Node


@dataclass
class RegionError:
    region: str
    message: str
    auth: bool = False


@dataclass
class FleetResult:
    nodes: list[Node] = field(default_factory=list)
    errors: list[RegionError] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    # the account's Session Manager preferences per region, when the listing was asked to read
    # them (listing_process: preferences_of); None when it was not
    preferences: dict[str, SessionPreferences] | None = None

    @property
    def complete(self) -> bool:
        return not self.errors
