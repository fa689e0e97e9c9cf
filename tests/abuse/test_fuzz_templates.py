"""Property: any template, environment and parameters, as objects or as YAML/JSON text, through
template validation and stack preview (and a few through a real create): never a 500 or a
traceback, and a 400 says what it refuses."""
from __future__ import annotations

import json
import uuid

import yaml
from hypothesis import assume, event, given
from hypothesis import strategies as st

from tests.abuse.fuzzing import any_text, budget, check_answer, finite_scalars
from tests.abuse.fuzzing import json_values as any_json
from tests.server.conftest import api, app  # noqa: F401 (fixtures)

VERSIONS = ["2013-05-23", "2015-10-15", "2016-10-14", "2018-08-31", "2021-04-16", "wallaby"]
TYPES = ["OS::Heat::Value", "OS::Heat::None", "OS::Heat::RandomString", "OS::Heat::TestResource",
         "OS::Heat::SoftwareConfig", "OS::Heat::StructuredConfig", "OS::Heat::CloudConfig",
         "OS::Heat::MultipartMime", "OS::Heat::ResourceGroup", "OS::Heat::WaitConditionHandle",
         "OS::Heat::SoftwareDeployment", "OS::Nova::KeyPair", "Custom::Mine", "nested.yaml"]
PROPERTIES = ["value", "type", "length", "sequence", "character_classes", "salt", "config",
              "group", "inputs", "outputs", "options", "cloud_config", "parts", "count",
              "resource_def", "index_var", "removal_policies", "server", "name", "action_wait_secs",
              "attr_wait_secs", "fail", "properties", "actions", "input_values"]
FUNCTIONS = ["get_param", "get_attr", "get_resource", "get_file", "str_replace", "list_join",
             "repeat", "if", "equals", "not", "and", "or", "map_merge", "map_replace", "digest",
             "str_split", "list_concat", "list_concat_unique", "contains", "filter", "make_url",
             "yaql", "resource_facade", "str_replace_strict", "get_input", "Fn::GetAtt", "Ref"]
scalars = finite_scalars


def json_values(max_leaves=12):
    return any_json(max_leaves=max_leaves, leaves=finite_scalars)


def mostly(strategy, otherwise, one_in: int = 8):
    """`strategy`, and one time in `one_in` anything from `otherwise`."""
    return st.integers(0, one_in - 1).flatmap(lambda n: otherwise if n == 0 else strategy)


names = st.one_of(st.sampled_from(["v", "w", "x", "p", "o", "c"]), any_text)


def expressions(depth_leaves=8):
    return st.recursive(
        st.one_of(scalars, st.sampled_from(["v", "p", "c", "0", "-1", "value"])),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(FUNCTIONS), inner, min_size=1, max_size=1),
            st.dictionaries(st.one_of(st.sampled_from(PROPERTIES), any_text), inner, max_size=3)),
        max_leaves=depth_leaves)


parameters = st.dictionaries(names, mostly(st.fixed_dictionaries({
    "type": st.sampled_from(["string", "number", "json", "comma_delimited_list", "boolean",
                             "String", "nope"]),
    "default": expressions(4),
    "constraints": st.lists(st.dictionaries(
        st.sampled_from(["length", "range", "allowed_values", "modulo", "custom_constraint"]),
        expressions(3), min_size=1, max_size=1), max_size=2)}), json_values()), max_size=3)
resources = st.dictionaries(names, mostly(st.fixed_dictionaries({
    "type": st.one_of(st.sampled_from(TYPES), any_text),
    "properties": st.dictionaries(st.sampled_from(PROPERTIES), expressions(), max_size=4)},
    optional={"depends_on": st.one_of(names, st.lists(names, max_size=2)),
              "condition": expressions(3), "metadata": expressions(3),
              "deletion_policy": st.sampled_from(["Delete", "Retain", "Snapshot", "x"])}),
    json_values()), max_size=4)
templates = mostly(st.fixed_dictionaries({
    "heat_template_version": mostly(st.sampled_from(VERSIONS), scalars)}, optional={
    "description": scalars, "parameters": parameters, "resources": resources,
    "outputs": st.dictionaries(names, mostly(st.fixed_dictionaries(
        {"value": expressions()}, optional={"condition": expressions(3)}), json_values()),
        max_size=3),
    "conditions": st.dictionaries(names, expressions(4), max_size=2),
    "parameter_groups": mostly(st.just([]), json_values())}), json_values())
environments = mostly(st.fixed_dictionaries({}, optional={
    "parameters": st.dictionaries(names, json_values(), max_size=3),
    "parameter_defaults": st.dictionaries(names, json_values(), max_size=3),
    "resource_registry": st.dictionaries(st.one_of(st.sampled_from(TYPES + ["resources"]),
                                                   any_text), json_values(), max_size=3),
    "event_sinks": json_values(), "parameter_merge_strategies": json_values()}), json_values())


@st.composite
def as_sent(draw, document):
    """An object, or its YAML or JSON text, as python-heatclient sends either."""
    how = draw(st.sampled_from(["object", "yaml", "json"]))
    if how == "object" or not isinstance(document, dict):
        return document
    try:
        return yaml.safe_dump(document) if how == "yaml" else json.dumps(document)
    except (yaml.YAMLError, UnicodeEncodeError, ValueError):
        return document


@st.composite
def stack_bodies(draw):
    template = draw(templates)
    body = {"stack_name": "fuzz", "template": draw(as_sent(template))}
    if draw(st.booleans()):
        body["environment"] = draw(as_sent(draw(environments)))
    if draw(st.booleans()):
        body["parameters"] = draw(st.dictionaries(names, json_values(), max_size=3))
    if draw(st.booleans()):
        body["files"] = draw(st.dictionaries(st.sampled_from(["nested.yaml", "f"]),
                                             st.one_of(any_text, st.just(json.dumps(template))),
                                             max_size=2))
    return body


def _post(api, path, body):
    try:
        data = json.dumps(body, allow_nan=True).encode()
    except (TypeError, ValueError):
        data = b"{}"
    return api.client.post(path, data=data, headers={"X-Auth-Token": api.token,
                                                     "Content-Type": "application/json"})


@budget
@given(body=stack_bodies(), route=st.sampled_from(["/v1/t1/validate", "/v1/t1/stacks/preview"]))
def test_no_template_gets_a_500(api, body, route):
    response = _post(api, route, body)
    check_answer(response)
    event(f"{route} {response.status_code}")


SLOW_TYPES = ("TestResource", "ResourceGroup", "Wait", "nested.yaml")
UNEXPECTED = ("internal error", "TypeError", "KeyError", "AttributeError", "IndexError",
              "RecursionError", "UnicodeEncodeError", "OverflowError", "ZeroDivisionError",
              "NameError", "AssertionError", "NoneType")


@budget
@given(body=stack_bodies())
def test_a_created_stack_ends_with_a_reason_not_a_crash(app, api, body):
    """Fewer checks than validation can make: a create runs, and ends COMPLETE or FAILED with a
    reason that is about the template, not a Python error."""
    # resources that wait or multiply would make an example slow, not wrong: validation covers them
    assume(not any(word in json.dumps(body, allow_nan=True) for word in SLOW_TYPES))
    name = f"fuzz-{uuid.uuid4().hex}"
    created = _post(api, "/v1/t1/stacks", dict(body, stack_name=name))
    check_answer(created)
    event(f"create {created.status_code}")
    if created.status_code != 201:
        return
    stack_id = created.get_json()["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    shown = api.get(f"/v1/t1/stacks/{name}/{stack_id}")
    check_answer(shown, field_named=False)
    stack = shown.get_json()["stack"]
    assert stack["stack_status"] in ("CREATE_COMPLETE", "CREATE_FAILED"), stack
    event(stack["stack_status"])
    assert not any(word in stack["stack_status_reason"] for word in UNEXPECTED), stack
    for resource in api.get(f"/v1/t1/stacks/{name}/{stack_id}/resources").get_json()["resources"]:
        assert not any(word in resource["resource_status_reason"] for word in UNEXPECTED), resource
