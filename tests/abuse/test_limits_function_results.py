"""Functions whose result can outgrow their arguments (repeat, list_join, str_replace, str_split,
list_concat, Fn::Join, yaql, ...) are refused before they build a result over the limit, at the
function's place in the template, and nothing is stored."""
from __future__ import annotations

import json

import pytest

from tests.abuse.limits_app import (create, limited, peak_growth, refused,  # noqa: F401
                                    stored_stacks, wait)

pytestmark = pytest.mark.timeout(60)

BIG = "a" * 100_000
ITEMS = ["x"] * 3000


def template(value, parameters=None):
    return json.dumps({"heat_template_version": "2018-08-31",
                       "parameters": parameters or {},
                       "resources": {"v": {"type": "OS::Heat::Value",
                                           "properties": {"value": value}}}})


PARAMS = {"s": {"type": "string", "default": BIG}, "l": {"type": "json", "default": ITEMS}}
S, L = {"get_param": "s"}, {"get_param": "l"}
CASES = {
    "repeat": ({"repeat": {"template": "%a%%b%", "for_each": {"%a%": L, "%b%": L}}},
               "would make 9000000 copies of its template, more than the limit "
               "(max_function_iterations 10000"),
    "repeat_grows_each_copy": ({"repeat": {"template": S, "for_each": {"a": [BIG[:20]]}}},
                               'The result of "repeat" would be larger than the limit'),
    "list_join": ({"list_join": [S, L]}, 'The result of "list_join" would be larger'),
    "str_replace": ({"str_replace": {"template": S, "params": {"a": S}}},
                    'The result of "str_replace" would be larger'),
    "str_split": ({"str_split": ["a", {"list_join": ["", [S] * 7]}]},
                  'The result of "str_split" would be larger'),
    "list_concat": ({"list_concat": [{"repeat": {"template": S, "for_each": {"q": ["1"] * 9}}}]
                     * 3}, 'The result of "list_concat" would be larger'),
    "Fn::Join": (None, None),
}
del CASES["Fn::Join"]   # 2016-10-14 has no CFN functions: see the 2013 case below


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_growing_function_is_refused_at_its_place(limited, case):
    client = limited()
    value, expected = CASES[case]
    message = refused(create(client, template(value, PARAMS)))
    assert expected in message, message
    assert "template:1:" in message and "resources.v.properties.value" in message
    assert stored_stacks(client) == []


def test_str_replace_with_thousands_of_placeholders(limited):
    client = limited()
    params = {f"k{i}": "v" for i in range(5000)}
    value = {"str_replace": {"template": "k1 k2 k4999", "params": params}}
    response = create(client, template(value))
    assert response.status_code == 201, response.json   # no RecursionError
    stack = wait(client, response.json["stack"]["id"])
    shown = client.get(f"/v1/t1/stacks/s/{stack['id']}/resources/v?with_attr=value").json
    assert shown["resource"]["attributes"]["value"] == "v v v"
    long_text = {"str_replace": {"template": {"list_join": ["", [S] * 10]}, "params": params}}
    message = refused(create(client, template(long_text, PARAMS), name="t"))
    assert '"str_replace" of 5000 placeholders over 1000000 characters is more work' in message


def test_cfn_join_of_many_copies_is_refused(limited):
    client = limited(max_function_result_size=1000)
    body = json.dumps({"heat_template_version": "2013-05-23",
                       "resources": {"v": {"type": "OS::Heat::Value", "properties": {
                           "value": {"Fn::Join": ["", ["abcdefghij"] * 200]}}}}})
    assert 'The result of "Fn::Join" would be larger' in refused(create(client, body))


def test_yaql_has_heats_limits(limited):
    client = limited()
    many = template({"yaql": {"expression": "range(0, 100000).select($ * 2)", "data": {}}})
    assert "Collection length exceeds 200 elements" in refused(create(client, many),
                                                               "ValueError")
    big = template({"yaql": {"expression": "'a' * 100000000", "data": {}}})
    assert "consumed too much memory" in refused(create(client, big, name="b"), "ValueError")


def test_yaql_limits_are_options(limited):
    client = limited(yaql_limit_iterators=5000)
    ok = template({"yaql": {"expression": "range(0, 1000).select($ * 2).sum()", "data": {}}})
    response = create(client, ok)
    assert response.status_code == 201, response.json
    assert wait(client, response.json["stack"]["id"])["status"] == "COMPLETE"


def test_results_within_the_limits_are_unchanged(limited):
    client = limited()
    value = {"list_join": [",", {"repeat": {"template": "<%x%-%y%>",
                                            "for_each": {"%x%": ["a", "b"], "%y%": ["1", "2"]}}}]}
    response = create(client, template(value))
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    shown = client.get(f"/v1/t1/stacks/s/{stack['id']}/resources/v?with_attr=value").json
    assert shown["resource"]["attributes"]["value"] == "<a-1>,<a-2>,<b-1>,<b-2>"


def test_function_explosion_costs_no_memory():
    grown = peak_growth("""
        big = "a" * 200_000
        body = {"heat_template_version": "2016-10-14",
                "parameters": {"s": {"type": "string", "default": big}},
                "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": [
                    {"str_replace": {"template": {"get_param": "s"},
                                     "params": {"a": {"get_param": "s"}}}}]}}}}
        tpl = hot.parse_template(json.dumps(body), "t.json")
        try:
            hot.bind(tpl, None, {}, hot.StackIdentity("s", "i"))
        except hot.TemplateError as exc:
            out = exc.kind
        """)
    assert grown["out"] == "RequestLimitExceeded"
    assert grown["grew_kb"] < 20_000, grown   # 40 GB if it were built


def test_every_growing_function_is_refused_within_bounded_memory():
    grown = peak_growth("""
        from tests.abuse.test_limits_function_results import CASES, PARAMS, template
        yaql = {"yaql_many": {"yaql": {"expression": "range(0, 100000000).select($ * 2)",
                                       "data": {}}},
                "yaql_big": {"yaql": {"expression": "'a' * 100000000", "data": {}}}}
        values = {**{name: value for name, (value, _) in CASES.items()}, **yaql}
        out = {}
        for name, value in sorted(values.items()):
            tpl = hot.parse_template(template(value, PARAMS), "t.json")
            try:
                hot.bind(tpl, None, {}, hot.StackIdentity("s", "i"))
                out[name] = "built"
            except hot.TemplateError as exc:
                out[name] = exc.kind
        """)
    assert set(grown["out"]) == set(CASES) | {"yaql_many", "yaql_big"}
    assert set(grown["out"].values()) <= {"RequestLimitExceeded", "ValueError"}, grown["out"]
    assert grown["grew_kb"] < 30_000, grown   # each would take from 100 MB to 40 GB if built


def test_references_repeated_in_plain_lists_are_refused_before_anything_is_stored(limited):
    """No function grows here: a list of 20 references to one 100,000-character parameter is
    2 MB once resolved and stored (20,000 of them fit in a template: 2 GB)."""
    client = limited()
    message = refused(create(client, template([S] * 20, PARAMS)))
    assert "template:1:" in message and ": resources.v.properties: The resolved properties " \
        "would be larger than the limit (max_function_result_size 1048576" in message
    body = json.loads(template("small", PARAMS))
    body["outputs"] = {"o": {"value": {"k": [S] * 20}}}
    message = refused(create(client, json.dumps(body)))
    assert "outputs.o.value: The resolved output value would be larger" in message
    assert stored_stacks(client) == []


def test_references_to_resources_are_measured_when_resolved(limited):
    client = limited(max_function_result_size=1000)
    body = json.loads(template({"list_join": ["", ["a" * 100] * 5]}))
    body["resources"]["w"] = {"type": "OS::Heat::Value", "properties": {
        "value": [{"get_attr": ["v", "value"]}] * 3}}
    body["outputs"] = {"o": {"value": [{"get_attr": ["v", "value"]}] * 3}}
    response = create(client, json.dumps(body))
    assert response.status_code == 201, response.json   # 500 characters, 3 times: known later
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "FAILED"
    assert "resources.w.properties: The resolved properties would be larger than the limit " \
           "(max_function_result_size 1000" in stack["status_reason"]
    output = client.get(f"/v1/t1/stacks/s/{stack['id']}/outputs/o").json["output"]
    assert "The resolved output value would be larger" in output["output_error"]


def test_references_to_resources_cost_no_memory():
    grown = peak_growth("""
        import tempfile
        from metadata_server.engine.drivers import FakeDriver
        from metadata_server.engine.stack import Engine
        from metadata_server.store import open_store
        big = {"list_join": ["", ["a" * 100_000] * 5]}
        body = {"heat_template_version": "2016-10-14", "resources": {
            "v": {"type": "OS::Heat::Value", "properties": {"value": big}},
            "w": {"type": "OS::Heat::Value", "properties": {
                "value": [{"get_attr": ["v", "value"]}] * 400}}}}
        with tempfile.TemporaryDirectory() as state:
            engine = Engine(open_store(f"sqlite:///{state}/stoker.db"), driver=FakeDriver())
            try:
                stack = engine.create_stack("t", {"stack_name": "s", "template": body})
                out = engine.wait(stack["id"], 60)["status_reason"]
            finally:
                engine.close()
        """)
    assert "The resolved properties would be larger" in grown["out"], grown["out"]
    assert grown["grew_kb"] < 30_000, grown   # 200 MB resolved, more once stored


def test_group_attributes_stop_reading_members_past_the_limit(limited, monkeypatch):
    """Each member is small where the group makes it (a provider template), and grows
    inside: only reading them tells how big they are together."""
    client = limited(max_function_result_size=1000)
    grows = {"heat_template_version": "2016-10-14",
             "outputs": {"value": {"value": {"list_join": ["", ["a" * 100] * 4]}}}}
    body = {"heat_template_version": "2016-10-14", "resources": {"g": {
        "type": "OS::Heat::ResourceGroup",
        "properties": {"count": 10, "resource_def": {"type": "grows.yaml"}}}},
            "outputs": {"one": {"value": {"get_attr": ["g", "resource.0.value"]}},
                        "all": {"value": {"get_attr": ["g", "value"]}}}}
    response = create(client, json.dumps(body), files={"grows.yaml": json.dumps(grows)})
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    engine = client.app.extensions["stoker-engine"]
    read = []
    original = engine.children.child_attribute
    monkeypatch.setattr(engine.children, "child_attribute",
                        lambda *args: read.append(args) or original(*args))
    outputs = f"/v1/t1/stacks/s/{stack['id']}/outputs"
    assert client.get(f"{outputs}/one").json["output"]["output_value"] == "a" * 400
    read.clear()
    error = client.get(f"{outputs}/all").json["output"]["output_error"]
    assert "outputs.all.value.get_attr: The result of \"get_attr\" would be larger than " \
           "the limit (max_function_result_size 1000" in error
    assert {member for _, member, _ in read} == {"0", "1", "2"}   # the third went past 1000
