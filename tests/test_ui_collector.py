"""The collector policy: young passes only while the TUI runs, the rest in the operator's
pauses; what a refresh made exempted after it, and the garbage that froze with it given back
once the operator is away."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from sessiontui.ui import collector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    usual = gc.get_threshold()
    yield
    gc.set_threshold(*usual)
    gc.unfreeze()
    gc.enable()
    collector.RECLAIM.owed = False


def test_young_passes_only_while_the_tui_runs_and_usual_once_closed() -> None:
    usual = gc.get_threshold()
    collector.startup_done()
    young, middle, old = gc.get_threshold()
    assert young == usual[0] and middle > 10**6 and old > 10**6
    collector.screen_closed()
    assert gc.get_threshold() == usual


def test_a_pause_collects_what_came_since_the_last_and_freezes_the_survivors() -> None:
    now = [1000.0]
    reclaim = collector._Reclaim(clock=lambda: now[0])
    gc.collect()
    gc.set_threshold(*collector._BROWSING)
    cycle, kept = _Cycle(), _Cycle()
    gone = weakref.ref(cycle)
    del cycle
    gc.collect(0)  # a young pass while it was alive elsewhere would promote it: force one
    assert not reclaim.if_idle(busy=False)  # a key came just now
    now[0] += reclaim.QUIET_SECONDS
    frozen = gc.get_freeze_count()
    assert not reclaim.if_idle(busy=True)  # a refresh runs: its rows wait for its end
    assert gc.get_freeze_count() == frozen
    assert reclaim.if_idle(busy=False)
    assert gone() is None
    assert gc.get_freeze_count() > frozen  # the survivors (kept among them) are exempt now
    assert not reclaim.if_idle(busy=False)  # nothing new since
    del kept


def test_frozen_garbage_is_given_back_only_when_idle_and_not_listing() -> None:
    now = [1000.0]
    reclaim = collector._Reclaim(clock=lambda: now[0])
    collector.RECLAIM, saved = reclaim, collector.RECLAIM
    try:
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        gc.collect()
        del cycle  # dead, but in the old generation when the refresh ends
        collector.listing_done()
        assert reclaim.owed and gone() is not None  # frozen with the survivors
        now[0] += 5
        reclaim.if_idle(busy=False)  # a pause's pass leaves the frozen alone
        assert gone() is not None
        now[0] += reclaim.IDLE_SECONDS
        assert not reclaim.if_idle(busy=True)  # a listing runs
        assert reclaim.if_idle(busy=False)
        assert gone() is None
        assert not reclaim.owed and not reclaim.if_idle(busy=False)
        reclaim.input()
        assert reclaim.last_input == now[0]
    finally:
        collector.RECLAIM = saved
