"""The code location pauses garbage collection while it loads, and always restores it."""

from __future__ import annotations

import gc

import pytest

from qb_pipeline.defs.collection import collection_paused_then_frozen


@pytest.fixture
def collector_restored():
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()


def test_collection_is_paused_inside_and_restored_after(collector_restored):
    gc.enable()
    with collection_paused_then_frozen():
        assert not gc.isenabled()
        kept = [object()]
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the block built is out of the collector's reach
    assert kept


def test_a_failing_load_still_restores_the_collector(collector_restored):
    gc.enable()
    with pytest.raises(RuntimeError, match="definition error"), collection_paused_then_frozen():
        raise RuntimeError("definition error")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_restored):
    gc.disable()
    with collection_paused_then_frozen():
        pass
    assert not gc.isenabled()
