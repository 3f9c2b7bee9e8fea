"""The fleet and the cyclic garbage collector: long-lived objects kept out of its passes."""

from __future__ import annotations

import gc


def settle_memory() -> None:
    """Exempt the fleet now in memory from the cyclic garbage collector.

    Tens of thousands of long-lived objects (nodes, their tags, cached rows) made every full
    collection walk them all, a 40-60 ms pause in the middle of a keystroke. Nodes hold no
    cycles, so reference counting still frees the ones a refresh replaces.
    """
    gc.freeze()


def startup_done() -> None:
    """After the first frame: if the launch paused the collector (cli._run), exempt everything
    start-up made from it (long-lived by nature; freezing costs nothing, while a first pass over
    it would cost a pause of tens of milliseconds) and turn it back on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
