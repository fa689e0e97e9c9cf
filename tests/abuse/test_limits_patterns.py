"""A parameter's allowed_pattern that backtracks catastrophically is matched with a time limit
(and without holding the interpreter), so the value is refused instead of the server hanging."""
from __future__ import annotations

import json

import pytest

from tests.abuse.limits_app import create, limited, refused, stored_stacks  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def test_a_catastrophic_pattern_is_refused_in_time(limited):
    client = limited()
    template = json.dumps({"heat_template_version": "2016-10-14", "parameters": {"p": {
        "type": "string", "constraints": [{"allowed_pattern": "(a|a)+"}]}}})
    message = refused(create(client, template, parameters={"p": "a" * 40 + "!"}),
                      "StackValidationFailed")
    assert "matching the pattern (a|a)+ took longer than 1 s" in message
    assert stored_stacks(client) == []


def test_patterns_still_match_as_heats(limited):
    client = limited()
    template = json.dumps({"heat_template_version": "2016-10-14", "parameters": {"p": {
        "type": "comma_delimited_list", "constraints": [{"allowed_pattern": "[a-z]+\\d?"}]}}})
    assert create(client, template, parameters={"p": "abc,de1"}).status_code == 201
    message = refused(create(client, template, name="t", parameters={"p": "abc,DE"}),
                      "StackValidationFailed")
    assert "Value must match pattern: [a-z]+\\d?" in message
