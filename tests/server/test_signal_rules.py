"""Heat's signal rules, one fixture file per case (fixtures/signals/*.json)."""
import json
from datetime import datetime
from pathlib import Path

import pytest

from metadata_server.service.signals import evaluate
from metadata_server.store.records import DeploymentRecord

CASES = sorted((Path(__file__).parent / "fixtures" / "signals").glob("*.json"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_signal_rule(case_file):
    case = json.loads(case_file.read_text())
    deployment = DeploymentRecord(**dict(
        {"id": "d1", "tenant": "t1", "server_id": "s1", "config_id": "c1", "input_values": {},
         "action": "CREATE", "status_reason": "", "stack_user_project_id": None,
         "created_at": datetime(2026, 1, 1)}, **case["deployment"]))
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
