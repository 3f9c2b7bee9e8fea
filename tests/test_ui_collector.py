"""The collector policy around a refresh: no full passes while rows stream in, the survivors
exempted after it, and the garbage that froze with them given back once the operator is away."""

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
    collector.RECLAIM.owed = False


def test_no_full_pass_while_listing_and_usual_thresholds_after() -> None:
    usual = gc.get_threshold()
    collector.listing_started()
    assert gc.get_threshold()[:2] == usual[:2]
    assert gc.get_threshold()[2] > 10**6
    collector.listing_done()
    assert gc.get_threshold() == usual


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
        assert not reclaim.if_idle(busy=False)  # a key came 5 s ago
        now[0] += reclaim.IDLE_SECONDS
        assert not reclaim.if_idle(busy=True)  # a listing runs
        assert reclaim.if_idle(busy=False)
        assert gone() is None
        assert not reclaim.owed and not reclaim.if_idle(busy=False)
        reclaim.input()
        assert reclaim.last_input == now[0]
    finally:
        collector.RECLAIM = saved
