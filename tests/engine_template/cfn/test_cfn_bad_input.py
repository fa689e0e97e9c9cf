"""Malformed CFN documents get a located TemplateError (or bind), never another exception."""
from __future__ import annotations

import json

import pytest

from metadata_server.engine.template import StackIdentity, TemplateError, bind, parse_template

pytestmark = pytest.mark.timeout(10)

V = {"AWSTemplateFormatVersion": "2010-09-09"}
BAD = {
    "resources_list": {**V, "Resources": []},
    "resource_string": {**V, "Resources": {"a": "OS::Heat::None"}},
    "type_list": {**V, "Resources": {"a": {"Type": ["x"]}}},
    "type_missing": {**V, "Resources": {"a": {"Properties": {}}}},
    "dependson_map": {**V, "Resources": {"a": {"Type": "OS::Heat::None", "DependsOn": {}}}},
    "properties_list": {**V, "Resources": {"a": {"Type": "OS::Heat::None", "Properties": []}}},
    "updatepolicy_string": {**V, "Resources": {"a": {"Type": "OS::Heat::None",
                                                     "UpdatePolicy": "x"}}},
    "parameters_list": {**V, "Parameters": [], "Resources": {}},
    "parameter_string": {**V, "Parameters": {"p": "String"}, "Resources": {}},
    "parameter_no_type": {**V, "Parameters": {"p": {"Default": 1}}, "Resources": {}},
    "parameter_bad_type": {**V, "Parameters": {"p": {"Type": "Str"}}, "Resources": {}},
    "pattern_on_number": {**V, "Parameters": {"p": {"Type": "Number", "AllowedPattern": "1"}},
                          "Resources": {}},
    "bad_regex": {**V, "Parameters": {"p": {"Type": "String", "AllowedPattern": "("}},
                  "Resources": {}},
    "minlength_word": {**V, "Parameters": {"p": {"Type": "String", "MinLength": "four"}},
                       "Resources": {}},
    "allowed_values_string": {**V, "Parameters": {"p": {"Type": "String",
                                                        "AllowedValues": "a"}}, "Resources": {}},
    "mappings_list": {**V, "Mappings": [], "Resources": {}},
    "mapping_string": {**V, "Mappings": {"m": "x"}, "Resources": {}},
    "outputs_list": {**V, "Resources": {}, "Outputs": []},
    "output_no_value": {**V, "Resources": {}, "Outputs": {"o": {"Description": "d"}}},
    "output_string": {**V, "Resources": {}, "Outputs": {"o": "x"}},
    "conditions_list": {**V, "Resources": {}, "Conditions": []},
    "condition_string": {**V, "Resources": {}, "Conditions": {"c": "nope"}},
    "condition_unknown": {**V, "Resources": {"a": {"Type": "OS::Heat::None",
                                                   "Condition": "nope"}}},
    "if_two_args": {**V, "Resources": {}, "Conditions": {"c": True},
                    "Outputs": {"o": {"Value": {"Fn::If": ["c", 1]}}}},
    "findinmap_two_args": {**V, "Resources": {}, "Outputs": {"o": {"Value": {
        "Fn::FindInMap": ["m", "k"]}}}},
    "and_one_arg": {**V, "Resources": {}, "Conditions": {"c": {"Fn::And": [True]}}},
    "getatt_in_condition": {**V, "Resources": {"a": {"Type": "OS::Heat::None"}},
                            "Conditions": {"c": {"Fn::Equals": [{"Fn::GetAtt": ["a", "b"]}, 1]}}},
    "version_number": {"AWSTemplateFormatVersion": 2010, "Resources": {}},
    "both_versions": {**V, "HeatTemplateFormatVersion": "2012-12-12", "Resources": {}},
    "mixed_with_hot": {**V, "heat_template_version": "2018-08-31", "resources": {}},
    "heat_2012_condition_key": {"HeatTemplateFormatVersion": "2012-12-12", "Resources": {
        "a": {"Type": "OS::Heat::None", "Condition": "c"}}},
    "duplicate_names": {**V, "Parameters": {"a": {"Type": "String", "Default": "x"}},
                        "Resources": {"a": {"Type": "OS::Heat::None"}}},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_cfn_is_a_located_template_error(name):
    text = json.dumps(BAD[name], indent=1)
    with pytest.raises(TemplateError) as info:
        template = parse_template(text, "bad.template")
        bind(template, None, {}, StackIdentity("s", "id", "p"))
    error = info.value
    assert error.message and error.filename == "bad.template", error
    assert error.line is not None, error
