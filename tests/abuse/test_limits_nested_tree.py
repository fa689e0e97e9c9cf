"""Resources are counted across the whole tree of nested stacks (groups, provider templates,
groups of provider templates holding groups) and refused before anything is stored."""
from __future__ import annotations

import json

import pytest

from tests.abuse.limits_app import create, limited, refused, stored_stacks, wait  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def group(count, member_type, **props):
    return {"type": "OS::Heat::ResourceGroup",
            "properties": {"count": count, "resource_def": {"type": member_type,
                                                            "properties": props}}}


def template(resources, parameters=None):
    return json.dumps({"heat_template_version": "2016-10-14", "parameters": parameters or {},
                       "resources": resources})


# a group of 100 whose member is a provider template holding a group of 100, three deep
LEVEL2 = template({"g": group(100, "level3.yaml")})
LEVEL3 = template({"g": group(100, "OS::Heat::None")})
FILES = {"level2.yaml": LEVEL2, "level3.yaml": LEVEL3}


def test_groups_of_groups_three_deep_are_refused_before_anything_is_stored(limited):
    client = limited()
    response = create(client, template({"top": group(100, "level2.yaml")}), files=FILES)
    message = refused(response)
    assert "Maximum resources per stack exceeded" in message
    assert "max_resources_per_stack 1000, option --max-resources-per-stack" in message
    assert message.startswith("template:1:73: resources.top > resources.0 > level2.yaml:1:73: "
                              "resources.g > resources.0: ")
    assert stored_stacks(client) == []
    assert client.app.extensions["stoker-engine"].stacks.resources  # the engine exists


def test_a_tree_within_the_limit_is_created(limited):
    client = limited(max_resources_per_stack=12)
    # 1 group + 2 provider resources + 2 nested groups + 2*3 members = 11
    files = {"inner.yaml": template({"g": group(3, "OS::Heat::None")})}
    response = create(client, template({"top": group(2, "inner.yaml")}), files=files)
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert len(stored_stacks(client)) == 1 + 1 + 2 + 2   # top, its group, 2 inner, 2 groups


def test_the_count_comes_from_parameters_and_the_environment(limited):
    client = limited(max_resources_per_stack=50)
    inner = template({"g": group({"get_param": "n"}, "OS::Heat::None")},
                     {"n": {"type": "number"}})
    top = template({"top": {"type": "My::Inner", "properties": {"n": {"get_param": "n"}}}},
                   {"n": {"type": "number", "default": 1}})
    environment = {"resource_registry": {"My::Inner": "inner.yaml"}}
    message = refused(create(client, top, files={"inner.yaml": inner}, environment=environment,
                             parameters={"n": 60}))
    assert "resources.top > inner.yaml" in message and "more than 50 resources" in message
    assert stored_stacks(client) == []


def test_depth_is_checked_before_anything_is_stored(limited):
    client = limited(max_nested_depth=2)
    files = {f"d{i}.yaml": template({"r": {"type": f"d{i + 1}.yaml"}}) for i in range(5)}
    files["d5.yaml"] = template({"r": {"type": "OS::Heat::None"}})
    message = refused(create(client, template({"r": {"type": "d0.yaml"}}), files=files))
    assert "Recursion depth exceeds 2." in message
    assert "max_nested_depth 2, option --max-nested-depth" in message
    assert stored_stacks(client) == []


def test_a_template_that_holds_itself_is_refused(limited):
    client = limited()
    files = {"self.yaml": template({"again": {"type": "self.yaml"}})}
    message = refused(create(client, template({"r": {"type": "self.yaml"}}), files=files))
    assert "Recursion depth exceeds 5." in message


def test_a_count_known_only_while_creating_is_counted_then(limited):
    client = limited(max_resources_per_stack=20)
    # 8 members of 3 resources: each template is small, the tree is not
    pair = template({"a": {"type": "OS::Heat::None"}, "b": {"type": "OS::Heat::None"}})
    top = template({
        "n": {"type": "OS::Heat::Value", "properties": {"value": 8, "type": "number"}},
        "g": group({"get_attr": ["n", "value"]}, "pair.yaml")})
    response = create(client, top, files={"pair.yaml": pair})
    assert response.status_code == 201, response.json   # the count is not known yet
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "FAILED"
    assert "RequestLimitExceeded" in stack["status_reason"]
    assert "more than 20 resources" in stack["status_reason"]
    engine = client.app.extensions["stoker-engine"]
    assert [s["parent_id"] for s in stored_stacks(client)] == [None]   # no nested stack made
    assert len(engine.stacks.resources(stack["id"])) == 2


def test_group_members_too_big_together_are_refused(limited):
    client = limited(max_function_result_size=10000)
    top = template({"g": group(100, "OS::Heat::Value", value="x" * 500)})
    response = create(client, top)
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "FAILED"
    assert "RequestLimitExceeded" in stack["status_reason"]
    assert "max_function_result_size 10000" in stack["status_reason"]


def test_an_update_that_grows_the_tree_is_refused(limited):
    client = limited(max_resources_per_stack=10)
    response = create(client, template({"g": group(3, "OS::Heat::None")}))
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    update = client.put(f"/v1/t1/stacks/s/{stack['id']}",
                        json={"template": template({"g": group(30, "OS::Heat::None")})})
    assert "more than 10 resources" in refused(update)
    shown = client.get(f"/v1/t1/stacks/s/{stack['id']}").json["stack"]
    assert shown["stack_status"] == "CREATE_COMPLETE"


def test_a_count_known_only_while_updating_is_counted_then(limited):
    client = limited(max_resources_per_stack=20)
    pair = template({"a": {"type": "OS::Heat::None"}, "b": {"type": "OS::Heat::None"}})

    def body(n):
        return {"template": template({
            "n": {"type": "OS::Heat::Value", "properties": {"value": n, "type": "number"}},
            "g": group({"get_attr": ["n", "value"]}, "pair.yaml")}),
            "files": {"pair.yaml": pair}}
    response = client.post("/v1/t1/stacks", json=dict(body(2), stack_name="s"))
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]   # n, g, 2 * (member + 2)
    response = client.put(f"/v1/t1/stacks/s/{stack['id']}", json=body(7))   # 2 + 7 * 3
    assert response.status_code == 202, response.json
    stack = wait(client, stack["id"])
    assert stack["status"] == "FAILED"
    assert "RequestLimitExceeded" in stack["status_reason"]
    assert "more than 20 resources" in stack["status_reason"]
    assert len(stored_stacks(client)) == 1 + 1 + 2   # no new member was made


@pytest.mark.parametrize("resources, complete", [
    # plain resources beside a provider template: all of it is known before the stack is stored
    ({"v": {"type": "OS::Heat::Value", "properties": {"value": 1}},
      "p": {"type": "pair.yaml"}}, True),
    ({"g": {"type": "OS::Heat::ResourceGroup", "properties": {
        "count": 3, "resource_def": {"type": "pair.yaml"}}}}, True),
    # a count from an attribute: the group's default count must not stand in for it
    ({"v": {"type": "OS::Heat::Value", "properties": {"value": 3}},
      "g": {"type": "OS::Heat::ResourceGroup", "properties": {
          "count": {"get_attr": ["v", "value"]}, "resource_def": {"type": "pair.yaml"}}}}, False),
])
def test_what_the_count_knows_before_the_stack_is_stored(resources, complete):
    """A tree counted whole is not counted again as each nested stack is created (that costs
    reading the stored tree, once per nested stack); one that is not is counted then."""
    from metadata_server.engine.limits import Limits
    from metadata_server.engine.loader import bind_definition
    from metadata_server.engine.stack_tree import check_tree
    from metadata_server.engine.template import StackIdentity

    pair = template({"a": {"type": "OS::Heat::None"}, "b": {"type": "OS::Heat::None"}})
    definition = {"template": template(resources), "files": {"pair.yaml": pair}}
    identity = StackIdentity("s", "id", "t1")
    bound = bind_definition(definition, identity)
    assert check_tree(bound, definition, bind_definition, Limits()) is complete
