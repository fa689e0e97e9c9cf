"""The rolling update's batch plan (Heat's arithmetic, one fixture row per case) and which
members each batch touches."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from metadata_server.engine.resources.scaling_rolling import (apply_batch, batches,
                                                              pause_seconds)

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/scaling/rolling_batches.yaml")
                       .read_text())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_batch_plan(case):
    _, target, size, batch_size, min_in_service, expected = case
    assert batches(target, size, batch_size, min_in_service) == [tuple(b) for b in expected]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_member_ends_updated_and_enough_stay_in_service(case):
    """Running the plan over members: the group ends at its target with every member new;
    during each batch at least min(min_in_service, target) members it does not touch serve;
    no member is touched twice."""
    _, target, size, batch_size, min_in_service, _ = case
    counter = itertools.count()
    names = [f"old{i}" for i in range(size)]
    stale, touched = set(names), []
    for new_size, new in batches(target, size, batch_size, min_in_service):
        names, updated = apply_batch(names, stale, set(), new_size, new,
                                     lambda: f"new{next(counter)}")
        assert len(names) == new_size and len(updated) == new
        serving = [n for n in names if n not in updated]
        assert len(serving) >= min(min_in_service, target, size)
        touched += updated
        stale -= set(updated)
        stale &= set(names)
    assert len(names) == target and not stale
    assert len(touched) == len(set(touched))


def test_a_batch_drops_failed_then_stale_members_and_keeps_creation_order():
    names = ["a", "b", "c", "d"]
    kept, updated = apply_batch(names, stale={"b", "c", "d"}, failed={"d"}, size=2, new=1,
                                new_name=lambda: "x")
    # d (FAILED) and b (the oldest stale one) leave; c is updated in place; a already new
    assert kept == ["a", "c"] and updated == ["c"]


def test_growing_batch_creates_the_new_members_first():
    names = ["a", "b"]
    made = iter(["n1", "n2"])
    kept, updated = apply_batch(names, {"a", "b"}, set(), 3, 1, lambda: next(made))
    assert kept == ["a", "b", "n1"] and updated == ["n1"]


@pytest.mark.parametrize("value, seconds", [
    (0, 0.0), (30, 30.0), (1.5, 1.5), ("PT0S", 0.0), ("PT1M30S", 90.0), ("PT1H", 3600.0),
    ("PT2H3M4S", 7384.0), ("45", 45.0)])
def test_pause_time(value, seconds):
    assert pause_seconds(value) == seconds


@pytest.mark.parametrize("value", [-1, "PT", "P1D", "soon", True, None, [1]])
def test_bad_pause_time(value):
    with pytest.raises(ValueError):
        pause_seconds(value)
