"""`list_fleet`, run in a child process (`listing_child`) and streamed back page by page.

Listing 10,000 nodes costs seconds of CPU in botocore (signing, parsing); in the TUI's own
interpreter that CPU competes for the GIL with every frame, and frames of 130-450 ms were measured
while pages arrived (docs/performance.md). In a child it runs on the other core, and the TUI only
decodes rows. Same signature and callbacks as `inventory.list_fleet`, so the screen does not know.

Cancelling (a newer refresh, quitting) kills the child at once; a child whose parent died sees its
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
from sessiontui.aws.inventory import FleetResult, RegionError
from sessiontui.core.node import Node

OnNodes = Callable[[str, list[Node]], None]
OnError = Callable[[str, str], None]


def _request(factory: ClientFactory, regions: list[str]) -> str:
    creds = factory.credentials
    return json.dumps(
        {
            "profile": factory.profile,
            "regions": regions,
            "credentials": {
                "access_key_id": creds.access_key_id,
                "secret_access_key": creds.secret_access_key,
                "session_token": creds.session_token,
                "expiration": creds.expiration.isoformat() if creds.expiration else None,
            }
            if creds is not None
            else None,
        }
    )


def list_fleet_in_child(
    factory: ClientFactory,
    regions: list[str],
    on_nodes: OnNodes | None = None,
    on_error: OnError | None = None,
    cancel: threading.Event | None = None,
    calls: Counter[str] | None = None,
) -> FleetResult:
    """As `inventory.list_fleet`; `calls`, when given, receives the child's API call counts."""
    from sessiontui.inventory_cache import row_node

    began = time.monotonic()
    cancel = cancel if cancel is not None else threading.Event()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiontui.aws.listing_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env=os.environ.copy(),
        start_new_session=True,  # Ctrl-C in the TUI's terminal is the TUI's, not the child's
    )
    assert proc.stdin is not None and proc.stdout is not None
    result = FleetResult()
    # pages carry a node again as more is learnt of it (EC2 names, hybrid tags): the last one wins
    latest: dict[tuple[str, str], Node] = {}

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
        proc.stdin.write(_request(factory, regions) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            message = json.loads(line)
            if "nodes" in message:
                nodes = [row_node(row) for row in message["rows"]]
                for node in nodes:
                    latest[(node.region, node.id)] = node
                if on_nodes is not None and nodes:
                    on_nodes(message["nodes"], nodes)
            elif "error" in message:
                if on_error is not None:
                    on_error(message["error"], message["text"])
            elif message.get("done"):
                done = True
                result.cancelled = bool(message.get("cancelled"))
                result.errors = [RegionError(r, t, bool(a)) for r, t, a in message["errors"]]
                if calls is not None:
                    calls.update(message.get("calls") or {})
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
        if cancel.is_set():
            result.cancelled = True
        else:
            why = f"the listing process ended early (exit {proc.returncode})"
            result.errors = [RegionError(r, why) for r in regions]
            if on_error is not None:
                for region in regions:
                    on_error(region, why)
    result.nodes = list(latest.values())
    result.seconds = time.monotonic() - began
    return result
