"""The scaling arithmetic and cooldown rules every group shares, from one fixture table."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from metadata_server.engine.resources.scaling_capacity import (cooldown_refusal, finish_scaling,
                                                               new_capacity)

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/scaling/capacity.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_new_capacity(case):
    _, current, adjustment, kind, step, low, high, expected = case
    assert new_capacity(current, adjustment, kind, step, low, high) == expected


NOW = datetime(2026, 1, 1, 12, 0, 0)


def test_cooldown_keeps_one_end_per_group_and_the_later_wins():
    data = {}
    finish_scaling(data, NOW, 60, "change_in_capacity : 1", True)
    assert data == {"cooldown_end": {(NOW + timedelta(seconds=60)).isoformat():
                                     "change_in_capacity : 1"}}
    assert "cooldown until" in cooldown_refusal(data, NOW + timedelta(seconds=59))
    assert cooldown_refusal(data, NOW + timedelta(seconds=61)) is None
    # a shorter cooldown later does not shorten the stored end
    finish_scaling(data, NOW + timedelta(seconds=10), 5, "exact_capacity : 2", True)
    assert list(data["cooldown_end"]) == [(NOW + timedelta(seconds=60)).isoformat()]


def test_no_change_starts_no_cooldown_and_an_old_in_progress_flag_goes():
    """Older versions kept `scaling_in_progress` in the group's data (a crash left it true for
    good); the claim on the group's nested stack replaces it, so it is dropped, not obeyed."""
    data = {"scaling_in_progress": True}
    assert cooldown_refusal(data, NOW) is None
    finish_scaling(data, NOW, 600, "x", False)
    assert data == {}
