"""Aodh's evaluation rules as a table: one fixture per case (fixtures/alarm_rules/*.json) gives
an alarm in Aodh's API shape, its current state, the samples of the servers it matched and the
time of the evaluation; the case says which values are compared and what is decided (the new
state, Aodh's reason text, whether it is a transition and whether actions are called), or null
when nothing is to be recorded or notified."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from metadata_server.service.alarm_rules import Rule, datapoints, decide

CASES = sorted((Path(__file__).parent / "fixtures" / "alarm_rules").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_alarm_rule_case(path):
    case = json.loads(path.read_text())
    rule = Rule.from_body(case["alarm"])
    # numbers as the ingest route stores them (floats)
    windows = {server: [(float(t), {k: float(v) for k, v in values.items()})
                        for t, values in samples]
               for server, samples in case["windows"].items()}
    values = datapoints(rule, windows, case["now"])
    assert values == case["expect"]["values"], case["description"]
    decision = decide(rule, case["state"], case["alarm"]["repeat_actions"], values)
    expected = case["expect"]["decision"]
    if expected is None:
        assert decision is None, (case["description"], decision)
        return
    assert decision is not None, case["description"]
    assert {"state": decision.state, "reason": decision.reason, "changed": decision.changed,
            "notify": decision.notify} == expected, case["description"]


def test_there_are_cases():
    assert len(CASES) >= 20
