"""Template-validate binds without parameter values: a Ref to a declared parameter is still a
parameter there, in resources, outputs and conditions alike, for CFN and HOT 2013-05-23."""
from __future__ import annotations

import pytest

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.loader import describe

pytestmark = pytest.mark.timeout(30)

CFN = """AWSTemplateFormatVersion: '2010-09-09'
Description: refs to a parameter with no value
Parameters:
  foo: {Type: String}
Conditions:
  is_x: {Fn::Equals: [{Ref: foo}, x]}
Resources:
  v: {Type: OS::Heat::Value, Properties: {value: {Ref: foo}}}
Outputs:
  o: {Value: {Fn::If: [is_x, {Ref: foo}, other]}}
"""

HOT = """heat_template_version: 2013-05-23
parameters:
  foo: {type: string}
resources:
  v: {type: OS::Heat::Value, properties: {value: {Ref: foo}}}
"""


@pytest.mark.parametrize("text", [CFN, HOT], ids=["cfn", "hot-2013-05-23"])
def test_validate_accepts_a_ref_to_a_parameter_without_a_value(text):
    body = describe({"template": text})
    assert list(body["Parameters"]) == ["foo"]


@pytest.mark.parametrize("text", [CFN.replace("{Ref: foo}}}", "{Ref: nothing}}}"),
                                  HOT.replace("{Ref: foo}", "{Ref: nothing}")],
                         ids=["cfn", "hot-2013-05-23"])
def test_validate_still_refuses_a_ref_to_nothing(text):
    with pytest.raises(StackValidationFailed, match=r'5:\d+: .*"nothing" is incorrect|'
                                                    r'8:\d+: .*"nothing" is incorrect'):
        describe({"template": text})
