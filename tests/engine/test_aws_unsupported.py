"""A driver that cannot provide what an AWS type needs fails that resource, naming it and the
driver, instead of a traceback."""
from __future__ import annotations

import pytest

from engine_helpers import run

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("resource,wanted", [
    ({"Type": "AWS::EC2::EIP"}, "the fake cloud driver cannot allocate an address"),
    ({"Type": "AWS::EC2::EIPAssociation", "Properties": {"EIP": "172.24.4.9",
                                                         "InstanceId": "i-1"}},
     "the fake cloud driver cannot look up a floating IP by its address"),
])
def test_what_the_driver_cannot_do_fails_the_resource_by_name(engine, resource, wanted):
    stack = run(engine, engine.create_stack("t1", {"stack_name": "u", "template": {
        "AWSTemplateFormatVersion": "2010-09-09", "Resources": {"thing": resource}}})["id"])
    assert stack["status"] == "FAILED"
    reason = stack["status_reason"]
    assert "resources.thing" in reason and wanted in reason, reason
    assert "Traceback" not in reason and "AttributeError" not in reason
