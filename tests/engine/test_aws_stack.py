"""AWS::CloudFormation::Stack's TimeoutInMinutes: the token the nested stack runs with."""
from __future__ import annotations

import threading

import pytest

from metadata_server.engine.resources.aws_stack import WithinToken
from metadata_server.engine.walker import CancelToken

pytestmark = pytest.mark.timeout(30)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_own_deadline_times_out_while_the_outer_operation_goes_on():
    clock = Clock()
    outer = CancelToken(None, clock)
    inner = WithinToken(outer, 300.0, clock)
    assert not inner.cancelled and inner.remaining() == 300.0
    clock.now += 301
    assert inner.cancelled and inner.reason == "Timed out"
    assert not outer.cancelled


def test_outer_deadline_is_the_nearer_one():
    clock = Clock()
    inner = WithinToken(CancelToken(60.0, clock), 300.0, clock)
    assert inner.remaining() == 60.0
    clock.now += 61
    assert inner.cancelled and inner.reason == "Timed out"


def test_outer_cancel_and_hand_on_reach_a_waiting_inner_token():
    outer = CancelToken()
    inner = WithinToken(outer, 3600.0)
    woke = threading.Event()
    result = []

    def waiter():
        result.append(inner.wait(3600))
        woke.set()
    thread = threading.Thread(target=waiter)
    thread.start()
    outer.hand_on()
    assert woke.wait(10), "the inner wait did not see the outer token stop"
    thread.join(10)
    assert result == [True] and inner.handed_on and inner.reason == "engine stopped"


def test_timeout_in_minutes_fails_a_slow_nested_create(engine, monkeypatch):
    from engine_helpers import run
    from metadata_server.engine.resources import aws_stack
    monkeypatch.setattr(aws_stack, "MINUTE", 0.2)   # one TimeoutInMinutes minute: 0.2 s
    child = ('{"HeatTemplateFormatVersion": "2012-12-12", "Resources": {"slow": {'
             '"Type": "OS::Heat::TestResource", "Properties": {"wait_secs": 60}}}}')

    def template(minutes):
        return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"child": {
            "Type": "AWS::CloudFormation::Stack",
            "Properties": {"TemplateURL": "slow.template", "TimeoutInMinutes": minutes}}}}
    stack = run(engine, engine.create_stack("t1", {"stack_name": "slow", "files": {
        "slow.template": child}, "template": template(1)})["id"])
    assert stack["status"] == "FAILED"
    assert "timed out" in stack["status_reason"].lower(), stack["status_reason"]
    (nested,) = engine.stacks.children(stack["id"])
    assert nested["status"] == "FAILED"
