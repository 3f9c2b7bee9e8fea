"""The fleet and the cyclic garbage collector: when its passes may run, and what they skip."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# A pass of an older generation is triggered after this many of the younger one, i.e. never.
_NEVER = 1 << 30
_usual = gc.get_threshold()
# While the TUI runs, automatic passes over the youngest generation only: each costs a fraction
# of a millisecond. A middle pass cost 3-6 ms of the UI thread's CPU and a full pass 50-75 ms at
# 50,000 nodes, measured inside cursor steps and keys (docs/performance.md); they run when the
# operator pauses instead (`_Reclaim.if_idle`).
_BROWSING = (_usual[0], _NEVER, _NEVER)


def settle_memory() -> None:
    """Exempt the fleet just loaded at start-up from the cyclic garbage collector.

    Tens of thousands of long-lived objects (Textual's, the cached rows) made every full
    collection walk them all, a 40-60 ms pause in the middle of a keystroke. Nodes hold no
    cycles, so reference counting still frees the ones a refresh replaces.
    """
    gc.freeze()


def startup_done() -> None:
    """After the first frame: if the launch paused the collector (cli._run), exempt everything
    start-up made from it (long-lived by nature; freezing costs nothing, while a first pass over
    it would cost a pause of tens of milliseconds) and turn it back on, for young passes only."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
    gc.set_threshold(*_BROWSING)


def listing_done() -> None:
    """The refresh is over (or abandoned): what it made is exempted as it stands, in no time
    (a freeze moves lists; a pass over everything the refresh made was a stall of 200-400 ms
    with full passes, 5 ms per middle pass with young ones). What was already dead among it
    stays frozen until `if_idle` gives it back while the operator is away."""
    gc.freeze()
    RECLAIM.owed = True


def screen_closed() -> None:
    """The fleet screen is gone (the TUI quits, or a test's app ends): the usual thresholds."""
    gc.set_threshold(*_usual)


class _Reclaim:
    """The collector's passes beyond the youngest generation, run while the operator pauses.

    After half a second without a key, and while no refresh runs, everything not frozen is
    collected and what survives is frozen: it lived through a pause, so it is long-lived (rows,
    caches, a botocore model loaded by a worker), and each pause's pass looks only at what came
    since the last one. A refresh's rows are frozen when it ends (`listing_done`). Frozen garbage is given back once the operator has left the keyboard and no
    refresh runs: a full pass over everything takes 150-300 ms at 10,000 nodes, unnoticed when
    no key is waiting."""

    IDLE_SECONDS = 30.0
    QUIET_SECONDS = 0.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.owed = False
        self.last_input = clock()

    def input(self) -> None:
        self.last_input = self.clock()

    def if_idle(self, busy: bool) -> bool:
        """Collect now if the operator paused and no refresh runs (`busy`): what came since
        the last pause after QUIET_SECONDS; everything, the frozen too, after IDLE_SECONDS when a
        refresh left frozen garbage owed. Whether it collected."""
        away = self.clock() - self.last_input
        if away < self.QUIET_SECONDS or busy:
            # during a refresh, what came since the last pause is mostly its rows: a pass over
            # them took 40-130 ms, the longest stalls of a live refresh (bench.live, sampled),
            # and the operator's next key waited behind it. listing_done freezes them when the
            # refresh ends, and what was garbage among them is given back once idle
            return False
        if self.owed and away >= self.IDLE_SECONDS:
            self.owed = False
            gc.unfreeze()
        elif not gc.get_count()[1]:
            return False  # no young pass since the last collection: next to nothing is new
        gc.collect()
        gc.freeze()  # what survived is long-lived: startup's objects and the fleet
        return True


RECLAIM = _Reclaim()
