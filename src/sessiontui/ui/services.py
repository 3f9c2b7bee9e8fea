"""Everything the TUI needs from the outside world, in one plain object.

No Textual import here: the CLI builds this cheaply, and tests and the benchmark inject fakes
(a `list_fleet` that feeds pages, a FakeClock) without touching AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.fleet_result import FleetResult
    from sessiontui.aws.identity import IdentityService
    from sessiontui.config import Config
    from sessiontui.core.access import Access
    from sessiontui.runtime import Runtime
    from sessiontui.stores.audit import AuditLog
    from sessiontui.stores.marks import MarksStore

# nodes in the first SSM page of a listing with nothing cached to show (issue 25: rows sooner)
FIRST_PAGE = 50


class ListFleet(Protocol):
    """The shape of `aws.inventory.list_fleet`, so tests and benchmarks can feed pages."""

    def __call__(
        self,
        factory: ClientFactory,
        regions: list[str],
        on_nodes: Callable[[str, list[Node]], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> FleetResult: ...


def _aws_list_fleet(
    factory: ClientFactory,
    regions: list[str],
    on_nodes: Callable[[str, list[Node]], None] | None = None,
    on_error: Callable[[str, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> FleetResult:
    # imported late: the CLI builds AppServices before anything needs boto3's inventory module.
    # The listing runs in a child process: its CPU must not compete with the frames for the GIL.
    from sessiontui.aws.listing_process import list_fleet_in_child

    return list_fleet_in_child(
        factory, regions, on_nodes=on_nodes, on_error=on_error, cancel=cancel
    )


class ListFleets(Protocol):
    """Listings at once (one per account held), each page saying whose it is; the result of
    `preferences_of` also carries its account's Session Manager preferences."""

    def __call__(
        self,
        factories: list[ClientFactory],
        regions: list[str],
        on_nodes: Callable[[int, str, list[Node]], None] | None = None,
        on_error: Callable[[int, str, str], None] | None = None,
        cancel: threading.Event | None = None,
        preferences_of: int | None = None,
        first_page: int | None = None,
    ) -> list[FleetResult]: ...


def _aws_list_fleets(
    factories: list[ClientFactory],
    regions: list[str],
    on_nodes: Callable[[int, str, list[Node]], None] | None = None,
    on_error: Callable[[int, str, str], None] | None = None,
    cancel: threading.Event | None = None,
    preferences_of: int | None = None,
    first_page: int | None = None,
) -> list[FleetResult]:
    from sessiontui.aws.listing_process import list_fleets_in_child

    return list_fleets_in_child(
        factories,
        regions,
        on_nodes=on_nodes,
        on_error=on_error,
        cancel=cancel,
        preferences_of=preferences_of,
        first_page=first_page,
    )


@dataclass
class AppServices:
    factory: ClientFactory
    regions: list[str]
    clock: Clock = SYSTEM_CLOCK
    filter_text: str = ""
    tags: list[str] = field(default_factory=list)
    config: Config | None = None
    profile: str | None = None  # shown in the header; defaults to factory.profile
    demo_banner: str | None = None
    # --demo: where its sandbox listens, and the approver's and sign-in page's ways in (help)
    demo_help: str | None = None
    cached_nodes: list[Node] | None = None
    cached_age_seconds: float | None = None
    # the rest of a large cached fleet, read in a worker after the first frame shows cached_nodes
    cached_rest: Callable[[], list[Node] | None] | None = None
    list_fleet: ListFleet = _aws_list_fleet
    # every account held listed in one child (and the preferences read there); None: each with
    # list_fleet, in threads, and the preferences read in this process
    list_fleets: ListFleets | None = _aws_list_fleets
    on_inventory: Callable[[list[Node]], None] | None = None
    keymap: Mapping[str, str] | None = None  # overrides config.keymap when given
    # access already held before the TUI opened (e.g. --role with --mfa-code)
    access: Access | None = None
    # --role/--duration/--mfa-code/--reason, for the TUI to act on at start
    initial_role: str | None = None
    initial_roles: list[str] = field(default_factory=list)  # --role repeated: all taken at start
    initial_duration: int | None = None
    mfa_code: str | None = None
    reason: str | None = None
    no_browser: bool = False  # --no-browser: a device sign-in shows its page, never opens it
    runtime: Runtime | None = None  # when the CLI built us
    identity: IdentityService | None = None  # built from config when None
    audit: AuditLog | None = None  # the default log when None
    marks_store: MarksStore | None = None  # the private state folder's when None

    def __post_init__(self) -> None:
        # (a list_fleet assigned after construction must set list_fleets to None itself)
        if self.list_fleet is not _aws_list_fleet and self.list_fleets is _aws_list_fleets:
            self.list_fleets = None  # a listing fed by a test or the bench serves every account

    @property
    def profile_label(self) -> str:
        return self.profile or getattr(self.factory, "profile", None) or "default"

    def initial_query(self) -> str:
        """--filter and --tag as one editable filter line, so the operator sees what narrows it."""
        import shlex

        terms = [shlex.quote(t) if " " in t else t for t in self.tags]
        return " ".join(t for t in [self.filter_text.strip(), *terms] if t)

    def keymap_overrides(self) -> dict[str, str]:
        if self.keymap is not None:
            return dict(self.keymap)
        return dict(self.config.keymap) if self.config is not None else {}
