"""Alarms' time_constraints as a table (fixtures/alarm_time.json): whether an alarm with these
constraints is evaluated at a UTC time, and what is refused, naming the entry."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from metadata_server.service.alarm_time import check, within
from metadata_server.service.errors import InvalidInput

TABLE = json.loads((Path(__file__).parent / "fixtures" / "alarm_time.json").read_text())


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: c["why"])
def test_within_the_time_constraints_or_not(case):
    check(case["constraints"])
    now = datetime.fromisoformat(case["now"]).replace(tzinfo=timezone.utc).timestamp()
    assert within(case["constraints"], now) is case["within"], case["why"]


@pytest.mark.parametrize("case", TABLE["refused"], ids=lambda c: c["says"])
def test_bad_time_constraints_are_refused(case):
    with pytest.raises(InvalidInput) as caught:
        check(case["constraints"])
    assert case["says"] in caught.value.message
