"""`python -m sessiontui.aws.listing_child`: one listing, in a process of its own.

The TUI lists the fleet here so that botocore's parsing and signing never share an interpreter
(and its GIL) with the frames the operator is looking at; see `listing_process`. The request comes
as one JSON line on stdin (never argv: it may carry credentials), the answer goes out as JSON lines
on stdout, one per page of nodes:

    {"listing": I, "nodes": REGION, "rows": [[field, ...], ...]}   rows in inventory_cache.FIELDS order
    {"listing": I, "error": REGION, "text": TEXT}                   as the region fails
    {"done": true, "results": [{"cancelled": BOOL, "errors": [[REGION, TEXT, AUTH], ...]}, ...],
     "calls": {"DescribeInstanceInformation": N, ...},
     "preferences": {REGION: [IDLE_MINUTES, MAX_MINUTES], ...}}     when the request asked

The request names the regions and one or more listings (a profile or credentials each: one
fleet across accounts lists in one child, side by side, sharing the cap on calls in flight), and
`"preferences": I`, the listing whose account's Session Manager preferences to read when the
listing is done (the details pane shows them): here, with its clients already made, because a
botocore client made in the TUI's interpreter parses its service model in one json call that holds
the GIL, a stall of 30-60 ms.

The listing stops when stdin closes: the parent quit, was killed, or no longer wants the answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from sessiontui.core.credentials import Credentials

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.node import Node

LISTING_NICENESS = 10


def _factory(request: dict[str, Any]) -> ClientFactory:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.identity import disable_botocore_mfa_prompt

    creds = request.get("credentials")
    factory = ClientFactory(
        profile=request.get("profile"),
        credentials=Credentials(
            creds["access_key_id"],
            creds["secret_access_key"],
            creds.get("session_token"),
            datetime.fromisoformat(creds["expiration"]) if creds.get("expiration") else None,
        )
        if creds
        else None,
    )
    # a profile that assumes a role with MFA must fail here, not prompt on the TUI's terminal;
    # on the botocore session: the listing makes clients only, and boto3 is not imported here
    disable_botocore_mfa_prompt(factory.core)
    return factory


class RowBatches:
    """Rows gathered per listing and region, sent at FLUSH_ROWS rows or every FLUSH_SECONDS, in
    messages of at most MESSAGE_ROWS rows. A hybrid node's tags come one call, and one page, per
    node: unbatched, 1,000 one-row messages at 10,000 nodes, each a refilter of the whole list
    in the TUI. And the TUI reads a message with one json.loads, which holds its GIL throughout:
    a region's EC2 merge of 4,500 rows was one 1.4 MB line, 49 ms in which no frame was drawn.

    Rows are written with `lock` held. Taken under it and written after it, a node's older
    version could follow its newer one (the TUI keeps the last it reads), and the timer's flush,
    cut off between taking rows and writing them, lost them: the final flush found nothing,
    "done" went first, and the TUI stopped reading (a region's EC2 merge and its agentless
    instances were missing from a listing in CI)."""

    FLUSH_ROWS = 200
    FLUSH_SECONDS = 0.1
    MESSAGE_ROWS = 100

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self.send = send
        self.lock = threading.Lock()
        self.rows: dict[tuple[int, str], list[Any]] = {}
        self.started: set[tuple[int, str]] = set()  # (listing, region) that have sent rows

    def add(self, index: int, region: str, rows: list[Any]) -> None:
        with self.lock:
            found = self.rows.setdefault((index, region), [])
            if found:
                # a node already waiting here (its SSM page, then its EC2 merge): send it once
                again = {row[0] for row in rows}
                found[:] = [row for row in found if row[0] not in again]
            found += rows
            # a region's first rows go at once: on a cold start they are the first on screen
            first = (index, region) not in self.started
            self.started.add((index, region))
            if first or len(found) >= self.FLUSH_ROWS:
                del self.rows[(index, region)]
                self._send(index, region, found)

    def flush(self) -> None:
        """Everything waiting, written before this returns, including what another thread's
        flush had taken."""
        with self.lock:
            taken, self.rows = self.rows, {}
            for (index, region), rows in taken.items():
                self._send(index, region, rows)

    def _send(self, index: int, region: str, rows: list[Any]) -> None:
        for start in range(0, len(rows), self.MESSAGE_ROWS):
            self.send(
                {"listing": index, "nodes": region, "rows": rows[start : start + self.MESSAGE_ROWS]}
            )

    def flush_every(self, stop: threading.Event) -> None:
        while not stop.wait(self.FLUSH_SECONDS):
            self.flush()


def lower_priority() -> None:
    """Every thread of this process to LISTING_NICENESS (Linux's nice is per thread: os.nice
    alone would lower only the caller's); raising it is always allowed, lowering it is not."""
    try:
        tasks = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tasks = [0]  # no /proc: this thread, and those it starts from here on
    for task in tasks:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, task, LISTING_NICENESS)


def run(stdin: TextIO, stdout: TextIO, first_rows_urgent: bool = False) -> int:
    from sessiontui.aws.clients import preload
    from sessiontui.aws.inventory import list_fleet
    from sessiontui.aws.metering import CallMeter
    from sessiontui.stores.inventory import node_row

    # boto3 and the SSM client's model before the request: a child started ahead of its
    # listing (listing_process.prespawn) has them ready by the time it is asked
    preload("ssm")

    line = stdin.readline()
    if not line:
        return 0  # started ahead and never asked: the TUI had no listing for it, or quit
    request = json.loads(line)
    regions = list(request["regions"])
    listings = request["listings"]
    cancel = threading.Event()
    lock = threading.Lock()

    urgent = [first_rows_urgent]

    def send(message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        with lock:
            try:
                stdout.write(line + "\n")
                stdout.flush()
            except (BrokenPipeError, ValueError):
                cancel.set()  # nobody reads any more
            if urgent[0]:
                # the TUI's empty list has its first rows (or their region's error): the rest
                # of the listing is background work again
                urgent[0] = False
                lower_priority()

    def watch_parent() -> None:
        stdin.read()  # returns at EOF: the parent is gone or gave up
        cancel.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    batches = RowBatches(send)
    threading.Thread(target=batches.flush_every, args=(cancel,), daemon=True).start()
    meter = CallMeter()
    results: list[dict[str, Any]] = [{} for _ in listings]
    crashed: list[int] = []
    # made in each listing's thread
    factories: list[ClientFactory | None] = [None for _ in listings]

    def one(index: int) -> None:
        def on_nodes(region: str, nodes: list[Node]) -> None:
            batches.add(index, region, [node_row(n) for n in nodes])

        def on_error(region: str, text: str) -> None:
            batches.flush()
            send({"listing": index, "error": region, "text": text})

        try:
            factory = factories[index] = _factory(listings[index])
            result = list_fleet(
                factory,
                regions,
                on_nodes=on_nodes,
                on_error=on_error,
                cancel=cancel,
                meter=meter,
                first_page=request.get("first_page"),
            )
        except Exception as exc:  # a listing-wide failure is reported, never a traceback
            text = f"{type(exc).__name__}: {exc}"
            for region in regions:
                on_error(region, text)
            crashed.append(index)
            results[index] = {"cancelled": False, "errors": [[r, text, False] for r in regions]}
            return
        errors = [[e.region, e.message, e.auth] for e in result.errors]
        results[index] = {"cancelled": result.cancelled, "errors": errors}

    threads = [
        threading.Thread(target=one, args=(i,), name=f"listing-{i}", daemon=True)
        for i in range(len(listings))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batches.flush()
    done: dict[str, Any] = {"done": True, "results": results, "calls": meter.calls}
    asked = request.get("preferences")
    wanted = isinstance(asked, int) and 0 <= asked < len(factories) and not cancel.is_set()
    chosen = factories[asked] if wanted else None
    if chosen is not None:
        done["preferences"] = _preferences(chosen, regions)
    send(done)
    return 1 if crashed else 0


def _preferences(factory: ClientFactory, regions: list[str]) -> dict[str, list[int | None]]:
    from sessiontui.aws.sessions import session_preferences

    found: dict[str, list[int | None]] = {}
    for region in regions:
        try:
            prefs = session_preferences(factory.client("ssm", region))
        except Exception:  # optional: the pane omits what this identity may not read
            continue
        if prefs is not None:
            found[region] = [prefs.idle_minutes, prefs.max_minutes]
    return found


def main() -> int:
    # Background work: the TUI's frames come first when the machine is busy (threads started
    # from here on inherit it). Two busy processes beside the TUI on this 2-core machine took
    # its cursor step p95 from 7.7 to 14.7 ms; at nice 19, 8.6 ms (docs/performance.md). It
    # counts because the child shares the TUI's session, so its scheduling group (autogroup).
    # Except for a TUI with nothing on screen (--first-rows): until its first rows are sent,
    # they are what the operator waits for, and at nice 10 on a busy machine the boto3 import
    # and first page waited seconds behind every other process (docs/performance.md, session 10)
    first_rows_urgent = "--first-rows" in sys.argv[1:]
    if not first_rows_urgent:
        lower_priority()
    # the parent reads stdout as protocol: nothing else may be written there
    sys.stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return run(sys.stdin, sys.stdout, first_rows_urgent)


if __name__ == "__main__":
    raise SystemExit(main())
