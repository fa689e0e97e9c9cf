"""YAML aliases: anchors that reference anchors stand for billions of values in a few hundred
bytes. They are refused while the node graph is measured, before anything is built from it;
ordinary anchors keep working."""
from __future__ import annotations

import pytest

from tests.abuse.limits_app import (create, limited, peak_growth, refused,  # noqa: F401
                                    stored_stacks, wait)

pytestmark = pytest.mark.timeout(60)


def laughs(levels: int, width: int = 10) -> str:
    """A HOT template whose `value` is width**levels strings once its aliases are expanded."""
    lines = ["heat_template_version: 2016-10-14", "parameters:",
             "  p:", "    type: json", "    default:",
             "      l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"      l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    lines += ["resources:", "  v:", "    type: OS::Heat::Value",
              "    properties: {value: {get_param: p}}"]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_with_its_place_and_nothing_is_stored(limited):
    client = limited()
    template = laughs(9)
    assert len(template) < 1000
    message = refused(create(client, template))
    assert "max_yaml_nodes 200000, option --max-yaml-nodes" in message
    assert "template:11:11: parameters.p.default.l5" in message   # the first level too big
    assert stored_stacks(client) == []


def test_billion_laughs_costs_no_memory():
    grown = peak_growth("""
        from tests.abuse.test_limits_yaml_aliases import laughs
        try:
            hot.parse_template(laughs(10), "laughs.yaml")
        except hot.TemplateError as exc:
            out = exc.kind
        """)
    assert grown["out"] == "RequestLimitExceeded"
    assert grown["grew_kb"] < 20_000, grown   # 10**10 strings, refused within 20 MB


def test_ordinary_anchors_still_work(limited):
    client = limited()
    template = """heat_template_version: 2016-10-14
resources:
  a:
    type: OS::Heat::Value
    properties: &props
      value: {list: [1, 2], map: &map {k: v}}
  b:
    type: OS::Heat::Value
    properties: *props
outputs:
  same: {value: [{get_attr: [b, value]}, *map, *map]}
"""
    response = create(client, template)
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    output = client.get(f"/v1/t1/stacks/s/{stack['id']}/outputs/same").json["output"]
    assert output["output_value"] == [{"list": [1, 2], "map": {"k": "v"}}, {"k": "v"},
                                      {"k": "v"}]


def test_too_many_aliases_are_refused(limited):
    client = limited(max_yaml_aliases=3)
    template = laughs(1) + "outputs:\n  o: {value: [*l0, *l0, *l0, *l0]}\n"
    message = refused(create(client, template))
    assert "more YAML aliases than the limit (max_yaml_aliases 3" in message
    assert "outputs.o.value[3]" in message


def test_an_alias_inside_itself_is_refused(limited):
    client = limited()
    template = "heat_template_version: 2016-10-14\noutputs:\n  o: {value: &x [1, *x]}\n"
    message = refused(create(client, template), "ValueError")
    assert "template:3:14: outputs.o.value[1]: template has a YAML alias that contains itself" \
        in message


def test_environment_aliases_are_measured_too(limited):
    client = limited(max_yaml_nodes=1000)
    environment = "parameter_defaults:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"  b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]\n"
        for i in range(3))
    template = "heat_template_version: 2016-10-14\n"
    message = refused(create(client, template, environment=environment))
    assert message.startswith("environment:")
    assert "max_yaml_nodes 1000" in message


def test_deep_nesting_is_refused_without_a_recursion_error(limited):
    client = limited()
    deep = "[" * 500 + "]" * 500
    message = refused(create(client, "heat_template_version: 2016-10-14\noutputs:\n"
                                     f"  o: {{value: {deep}}}\n"))
    assert "nested more than 100 levels deep" in message
    as_json = '{"heat_template_version": "2016-10-14", "outputs": {"o": {"value": ' + deep + "}}}"
    assert "nested more than" in refused(create(client, as_json, name="j"))
    # JSON that YAML cannot read (a lone surrogate escape) is not measured as YAML
    surrogate = as_json.replace('"outputs"', '"description": "\\ud800", "outputs"')
    assert "nested more than" in refused(create(client, surrogate, name="u"))
