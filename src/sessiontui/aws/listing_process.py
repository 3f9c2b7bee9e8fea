"""`list_fleet`, run in a child process (`listing_child`) and streamed back page by page.

Listing 10,000 nodes costs seconds of CPU in botocore (signing, parsing); in the TUI's own
interpreter that CPU competes for the GIL with every frame, and frames of 130-450 ms were measured
while pages arrived (docs/performance.md). In a child it runs on the other core, and the TUI only
decodes rows. Same signature and callbacks as `inventory.list_fleet`, so the screen does not know.

Several accesses (one fleet across accounts) list in one child, so boto3 is imported once and
one cap on calls in flight covers them all. Cancelling (a newer refresh, quitting) kills the child at once; a child whose parent died sees its
stdin close and stops by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.fleet_result import FleetResult, RegionError
from sessiontui.aws.sessions import SessionPreferences
from sessiontui.core.node import Node

OnNodes = Callable[[str, list[Node]], None]
OnError = Callable[[str, str], None]
# several listings in one child (one fleet across accounts): which listing, then as above
OnListingNodes = Callable[[int, str, list[Node]], None]
OnListingError = Callable[[int, str, str], None]


def _listing(factory: ClientFactory) -> dict[str, object]:
    creds = factory.credentials
    return {
        "profile": factory.profile,
        "credentials": {
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key,
            "session_token": creds.session_token,
            "expiration": creds.expiration.isoformat() if creds.expiration else None,
        }
        if creds is not None
        else None,
    }


def _request(
    factories: list[ClientFactory],
    regions: list[str],
    preferences_of: int | None,
    first_page: int | None = None,
) -> str:
    request: dict[str, object] = {"regions": regions, "listings": [_listing(f) for f in factories]}
    if preferences_of is not None:
        request["preferences"] = preferences_of
    if first_page:
        request["first_page"] = first_page
    return json.dumps(request)


def _spawn(first_rows: bool = False) -> subprocess.Popen[str]:
    """`first_rows`: nothing is on screen yet, so the child stays at our priority until its
    first rows are sent (listing_child.main)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessiontui.aws.listing_child",
            *(["--first-rows"] if first_rows else []),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env=os.environ.copy(),
        # Ctrl-C in the TUI's terminal is the TUI's, not the child's: a process group of its own.
        # Not a session of its own: Linux gives each session its own scheduling group
        # (autogroup), inside which the child's nice 10 weighed nothing against the TUI
        process_group=0,
    )


# at most one child started ahead: with the request it was sent then, or None (not yet asked)
_spare: list[tuple[subprocess.Popen[str], str | None]] = []
_spare_lock = threading.Lock()


def prespawn(
    factories: list[ClientFactory] | None = None,
    regions: list[str] | None = None,
    preferences_of: int | None = None,
    first_page: int | None = None,
) -> None:
    """Start the next listing's child now, before it is asked: it imports boto3 while the TUI
    imports Textual and draws its first frame (a TUI with nothing cached shows no row before
    the child's first page). Unused, it ends with us.

    With `factories` and `regions` it is asked at once, with the listing the TUI's first
    refresh will ask for: its first pages wait in the pipe instead of starting only once the
    screen is mounted. A refresh that asks for anything else kills it and starts its own."""
    with _spare_lock:
        if _spare:
            return
        proc = _spawn(first_rows=True)  # started ahead only when nothing is cached to show
        request = None
        if factories is not None and regions is not None and proc.stdin is not None:
            request = _request(factories, regions, preferences_of, first_page)
            with contextlib.suppress(OSError):
                proc.stdin.write(request + "\n")
                proc.stdin.flush()
        _spare.append((proc, request))


def _take_spare(request: str) -> tuple[subprocess.Popen[str], bool] | None:
    """The child started ahead, and whether it was already sent `request`; None when there is
    none, it died waiting to be asked (killed from outside), or it was asked something else."""
    with _spare_lock:
        found = _spare.pop() if _spare else None
    if found is None:
        return None
    proc, asked = found
    if asked == request:
        return proc, True  # even if it has ended: a small fleet's whole answer waits in the pipe
    if proc.poll() is not None:
        return None
    if asked is not None:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        return None
    return proc, False


def list_fleet_in_child(
    factory: ClientFactory,
    regions: list[str],
    on_nodes: OnNodes | None = None,
    on_error: OnError | None = None,
    cancel: threading.Event | None = None,
    calls: Counter[str] | None = None,
) -> FleetResult:
    """As `inventory.list_fleet`; `calls`, when given, receives the child's API call counts."""
    return list_fleets_in_child(
        [factory],
        regions,
        on_nodes=(lambda _, region, nodes: on_nodes(region, nodes)) if on_nodes else None,
        on_error=(lambda _, region, text: on_error(region, text)) if on_error else None,
        cancel=cancel,
        calls=calls,
    )[0]


def list_fleets_in_child(
    factories: list[ClientFactory],
    regions: list[str],
    on_nodes: OnListingNodes | None = None,
    on_error: OnListingError | None = None,
    cancel: threading.Event | None = None,
    calls: Counter[str] | None = None,
    preferences_of: int | None = None,
    first_page: int | None = None,
) -> list[FleetResult]:
    """Several listings (one per account's credentials) side by side in one child, which
    imports boto3 once and caps the calls in flight over all of them; a result per factory.
    With `preferences_of`, that listing's result also carries its account's Session Manager
    preferences per region, read by the child once the listing is done. With `first_page`, each
    region's first SSM page is that small (inventory._RegionLister): for a TUI with nothing
    cached to show."""
    from sessiontui.stores.inventory import row_node

    began = time.monotonic()
    cancel = cancel if cancel is not None else threading.Event()
    request = _request(factories, regions, preferences_of, first_page)
    proc, asked = _take_spare(request) or (_spawn(first_rows=bool(first_page)), False)
    assert proc.stdin is not None and proc.stdout is not None
    results = [FleetResult() for _ in factories]
    # pages carry a node again as more is learnt of it (EC2 names, hybrid tags): the last one wins
    latest: list[dict[tuple[str, str], Node]] = [{} for _ in factories]

    finished = threading.Event()

    def killer() -> None:
        while not finished.is_set():
            if cancel.wait(0.1):
                with contextlib.suppress(OSError):
                    proc.kill()
                return

    watcher = threading.Thread(target=killer, name="listing-cancel", daemon=True)
    watcher.start()
    done = False
    try:
        # stdin stays open while we want the answer: its EOF is the child's signal to stop
        if not asked:
            proc.stdin.write(request + "\n")
            proc.stdin.flush()
        for line in proc.stdout:
            message = json.loads(line)
            index = int(message.get("listing", 0))
            if "nodes" in message:
                nodes = [row_node(row, checked=False) for row in message["rows"]]
                seen = latest[index]
                for node in nodes:
                    seen[(node.region, node.id)] = node
                if on_nodes is not None and nodes:
                    on_nodes(index, message["nodes"], nodes)
            elif "error" in message:
                if on_error is not None:
                    on_error(index, message["error"], message["text"])
            elif message.get("done"):
                done = True
                for result, answer in zip(results, message["results"], strict=True):
                    result.cancelled = bool(answer.get("cancelled"))
                    result.errors = [RegionError(r, t, bool(a)) for r, t, a in answer["errors"]]
                if calls is not None:
                    calls.update(message.get("calls") or {})
                if preferences_of is not None and isinstance(message.get("preferences"), dict):
                    results[preferences_of].preferences = {
                        str(region): SessionPreferences(*pair)
                        for region, pair in message["preferences"].items()
                    }
                break
    except (BrokenPipeError, ValueError, OSError):
        pass  # the child died; said below
    finally:
        finished.set()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        if not done:
            with contextlib.suppress(OSError):
                proc.kill()
        proc.wait()
    if not done:
        why = f"the listing process ended early (exit {proc.returncode})"
        for index, result in enumerate(results):
            if cancel.is_set():
                result.cancelled = True
                continue
            result.errors = [RegionError(r, why) for r in regions]
            if on_error is not None:
                for region in regions:
                    on_error(index, region, why)
    seconds = time.monotonic() - began
    for result, seen in zip(results, latest, strict=True):
        result.nodes = list(seen.values())
        result.seconds = seconds
    return results
