"""The fleet and the cyclic garbage collector: when its passes may run, and what they skip."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Young collections only: a full pass is triggered after this many middle ones, i.e. never.
_NO_FULL_PASSES = 1 << 30
_usual = gc.get_threshold()


def settle_memory() -> None:
    """Exempt the fleet just loaded at start-up from the cyclic garbage collector.

    Tens of thousands of long-lived objects (Textual's, the cached rows) made every full
    collection walk them all, a 40-60 ms pause in the middle of a keystroke. Nodes hold no
    cycles, so reference counting still frees the ones a refresh replaces. Only at start-up:
    frozen garbage is never collected, and Textual makes cyclic garbage with every frame (a
    freeze after each page of a refresh kept about 100,000 dead objects per refresh).
    """
    gc.freeze()


def startup_done() -> None:
    """After the first frame: if the launch paused the collector (cli._run), exempt everything
    start-up made from it (long-lived by nature; freezing costs nothing, while a first pass over
    it would cost a pause of tens of milliseconds) and turn it back on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def listing_started() -> None:
    """While a refresh streams rows in, only young collections run: they free the frames'
    short-lived cycles in a millisecond or two, where a full pass over everything the refresh
    promoted was a 35-60 ms stall in the middle of the operator's keys (docs/performance.md)."""
    young, middle, _ = _usual
    gc.set_threshold(young, middle, _NO_FULL_PASSES)


def listing_done() -> None:
    """The refresh is over (or abandoned): the young generations collected, what survived
    (the new rows, mostly) exempted, and full passes as usual again. A first full pass over
    everything the refresh made was itself a stall of 200-400 ms. What was already dead in the
    old generation stays frozen (about 40,000 objects a refresh, measured) until `reclaim_if_idle`."""
    gc.collect(1)
    gc.freeze()
    gc.set_threshold(*_usual)
    RECLAIM.owed = True


class _Reclaim:
    """Frozen garbage given back once the operator has left the keyboard: a full pass over
    everything takes 150-300 ms at 10,000 nodes, unnoticed when no key is waiting."""

    IDLE_SECONDS = 30.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.owed = False
        self.last_input = clock()

    def input(self) -> None:
        self.last_input = self.clock()

    def if_idle(self, busy: bool) -> bool:
        """Reclaim now if owed, nothing runs and no input came for IDLE_SECONDS; whether it did."""
        if not self.owed or busy or self.clock() - self.last_input < self.IDLE_SECONDS:
            return False
        self.owed = False
        gc.unfreeze()
        gc.collect()
        gc.freeze()  # what survived is long-lived: startup's objects and the fleet
        return True


RECLAIM = _Reclaim()
