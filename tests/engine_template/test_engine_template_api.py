"""The interface the engine core uses, beyond single fixtures: template-validate's body, nested
(provider) templates and their error locations, unresolved definitions for diffing, outputs."""
from __future__ import annotations

import pytest

from metadata_server.engine.template import (StackIdentity, TemplateError, bind,
                                             describe_template, parse_environment,
                                             parse_template)

pytestmark = pytest.mark.timeout(10)
ID = StackIdentity("s", "id-1", "p")

PARENT = """\
heat_template_version: 2016-10-14
description: a parent
parameter_groups:
  - label: sizing
    parameters: [size]
parameters:
  size:
    type: number
    label: Size
    default: 2
    constraints:
      - range: {min: 1, max: 5}
        description: between one and five
  secret: {type: string, hidden: true, default: hunter2}
  name: {type: string}
resources:
  box: {type: box.yaml}
"""


def test_describe_template_shape_without_values():
    body = describe_template(parse_template(PARENT, "parent.yaml"))
    assert body["Description"] == "a parent"
    assert body["ParameterGroups"] == [{"label": "sizing", "parameters": ["size"]}]
    assert body["Parameters"]["size"] == {
        "Type": "Number", "Description": "", "NoEcho": "false", "Label": "Size", "Default": 2,
        "MinValue": 1, "MaxValue": 5, "ConstraintDescription": "between one and five"}
    assert body["Parameters"]["secret"]["NoEcho"] == "true"
    assert body["Parameters"]["secret"]["Default"] == "******"
    assert "Default" not in body["Parameters"]["name"]   # required, and validate does not fail


def test_describe_template_shows_environment_values_masked():
    env = parse_environment("parameters: {name: web, secret: other}", "env.yaml")
    body = describe_template(parse_template(PARENT, "parent.yaml"), env)
    assert body["Parameters"]["name"]["Value"] == "web"
    assert body["Parameters"]["secret"]["Value"] == "******"


def test_provider_template_loaded_from_files_with_its_own_positions():
    nested = "heat_template_version: 2016-10-14\nresources:\n  inner:\n    type: OS::Heat::None\n" \
             "    propertys: {}\n"
    tpl = parse_template(PARENT, "parent.yaml", files={"box.yaml": nested})
    bound = bind(tpl, None, {"name": "n"}, ID)
    assert bound.definition("box").provider_template == "box.yaml"
    with pytest.raises(TemplateError) as info:
        bound.provider_template("box")
    assert (info.value.filename, info.value.line, info.value.column) == ("box.yaml", 5, 5)
    assert "resources.inner.propertys" in str(info.value)


def test_provider_template_not_in_files_is_a_clear_error_unless_fetched():
    tpl = parse_template(PARENT, "parent.yaml")
    with pytest.raises(TemplateError, match='Could not fetch remote template "box.yaml"'):
        bind(tpl, None, {"name": "n"}, ID).provider_template("box")
    fetched = bind(tpl, None, {"name": "n"}, ID,
                   fetch=lambda url: "heat_template_version: 2013-05-23\n")
    assert fetched.provider_template("box").version == "2013-05-23"


def test_definitions_keep_raw_properties_for_diffing():
    text = ("heat_template_version: 2016-10-14\nparameters:\n  p: {type: string, default: a}\n"
            "resources:\n  r:\n    type: OS::Heat::None\n    properties: {v: {get_param: p}}\n")
    tpl = parse_template(text)
    first = bind(tpl, None, {"p": "a"}, ID)
    second = bind(tpl, None, {"p": "b"}, ID)
    assert first.definition("r").properties == {"v": {"get_param": "p"}}
    assert first.definition("r") == second.definition("r")

    class Ctx:
        def resource_id(self, name): return name
        def attribute(self, name, attr, path): return None
        def resource_facade(self, section): return None
    assert first.resolve_properties("r", Ctx()) == {"v": "a"}
    assert second.resolve_properties("r", Ctx()) == {"v": "b"}
    assert second.resolve({"x": {"get_param": "p"}}, Ctx()) == {"x": "b"}


def test_get_attr_not_ready_is_null_and_output_error_is_masked():
    text = ("heat_template_version: 2017-02-24\nparameters:\n  pw: {type: json, hidden: true}\n"
            "resources:\n  r: {type: OS::Heat::None}\n"
            "outputs:\n  a: {value: {get_attr: [r, x]}}\n"
            "  b: {value: {str_replace_strict: {template: {get_attr: [r, x]}, "
            "params: {get_param: pw}}}}\n")
    bound = bind(parse_template(text), None, {"pw": {"sekret-value": "x"}}, ID)

    class NotReady:
        def resource_id(self, name): return name
        def attribute(self, name, attr, path): return "nothing here"
        def resource_facade(self, section): return None
    outputs = {o["output_key"]: o for o in bound.outputs(NotReady())}
    assert outputs["a"]["output_value"] == "nothing here"
    assert "sekret-value" not in outputs["b"]["output_error"]
    assert "******" in outputs["b"]["output_error"]


def test_validate_without_values_tolerates_parameter_driven_conditions_and_policies():
    text = ("heat_template_version: 2016-10-14\n"
            "parameters:\n  env: {type: string}\n  policy: {type: string}\n"
            "  nothing: {type: string, default: null}\n"
            "resources:\n  r:\n    type: OS::Heat::None\n"
            "    condition: {equals: [{get_param: env}, prod]}\n"
            "    deletion_policy: {get_param: policy}\n"
            "outputs:\n  o:\n    value: {get_param: env}\n"
            "    condition: {not: {equals: [{get_param: env}, dev]}}\n")
    body = describe_template(parse_template(text))
    assert set(body["Parameters"]) == {"env", "policy", "nothing"}
    assert "Default" not in body["Parameters"]["nothing"]   # null default = required
    with pytest.raises(TemplateError, match=r"The Parameter \(env\) was not provided"):
        bind(parse_template(text), None, {"policy": "Retain", "nothing": "x"}, ID)
