"""Heat's signal rules, one fixture file per case (fixtures/signals/*.json)."""
import json
from pathlib import Path

import pytest

from metadata_server.service.signals import evaluate

CASES = sorted((Path(__file__).parent / "fixtures" / "signals").glob("*.json"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_signal_rule(case_file):
    case = json.loads(case_file.read_text())
    deployment = dict({"id": "d1", "status_reason": ""}, **case["deployment"])
    outcome = evaluate(deployment, case["outputs"], case["details"])
    expect = case["expect"]
    assert outcome.applied == expect["applied"]
    assert outcome.status == expect["status"]
    assert outcome.status_reason == expect["status_reason"]
    assert outcome.output_values == expect["output_values"]
    # dict order is part of Heat's stored output_values
    assert list(outcome.output_values) == list(expect["output_values"])


def test_there_are_cases():
    assert len(CASES) >= 8
