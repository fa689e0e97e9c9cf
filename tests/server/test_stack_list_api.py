"""Heat's stack list parameters (tags, sort, paging), the name lookup's redirect keeping the
query string, and a resource list with nested_depth, through the API on the suite's store."""
from __future__ import annotations

import uuid

import pytest

from metadata_server.api.app_engine import start_engine
from metadata_server.engine.drivers import FakeDriver
from metadata_server.service.endpoints import Endpoints

pytestmark = pytest.mark.timeout(60)
CHILD = ("heat_template_version: 2018-08-31\n"
         "resources:\n  leaf: {type: OS::Heat::None}\n")


@pytest.fixture
def stacks(app, api):
    """Three stacks of a fresh tenant (stack rows outlive a test on PostgreSQL), the last with
    a nested stack."""
    engine = start_engine(app, Endpoints("http://stoker.test", "k"), FakeDriver())
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    made = {}
    for name, tags in (("alpha", ["web", "blue"]), ("beta", ["web"]), ("gamma", [])):
        answer = api.post(f"/v1/{tenant}/stacks", {
            "stack_name": name, "tags": ",".join(tags) or None, "files": {"child.yaml": CHILD},
            "template": {"heat_template_version": "2018-08-31",
                         "resources": {"c": {"type": "child.yaml"}}}})
        assert answer.status_code == 201, answer.json
        made[name] = answer.json["stack"]["id"]
        engine.wait(made[name], 20)
    return tenant, made


def _names(api, url: str) -> list[str]:
    answer = api.get(url)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [s["stack_name"] for s in answer.json["stacks"]]


@pytest.mark.parametrize("query, names", [
    ("", ["gamma", "beta", "alpha"]),               # newest first
    ("tags=web", ["beta", "alpha"]),
    ("tags=web,blue", ["alpha"]),
    ("tags_any=blue&tags_any=nope", ["alpha"]),
    ("not_tags=web,blue", ["gamma", "beta"]),
    ("not_tags_any=blue,web", ["gamma"]),
    ("sort_keys=stack_name&sort_dir=asc", ["alpha", "beta", "gamma"]),
    ("sort_keys=stack_name&sort_dir=asc&limit=2", ["alpha", "beta"]),
    ("sort_keys=stack_name&sort_dir=asc&marker={beta}", ["gamma"]),
    ("sort_keys=creation_time&sort_dir=asc", ["alpha", "beta", "gamma"]),
    ("limit=0", []),
])
def test_stack_list_parameters(api, stacks, query, names):
    tenant, made = stacks
    assert _names(api, f"/v1/{tenant}/stacks?{query.format(**made)}") == names


@pytest.mark.parametrize("query, fault", [
    ("sort_keys=colour", "sort_keys: 'colour' is not a sort key of stacks"),
    ("sort_dir=sideways", "sort_dir: must be asc or desc"),
    ("limit=-1", "limit: must be a non-negative integer"),
])
def test_bad_stack_list_parameters_are_a_400_naming_them(api, stacks, query, fault):
    tenant, _ = stacks
    answer = api.get(f"/v1/{tenant}/stacks?{query}")
    assert answer.status_code == 400 and fault in answer.json["error"]["message"]


def test_the_lookup_redirect_keeps_the_query_string(api, stacks):
    tenant, made = stacks
    answer = api.get(f"/v1/{tenant}/stacks/alpha/events?resource_status=COMPLETE&limit=1")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(
        f"/stacks/alpha/{made['alpha']}/events?resource_status=COMPLETE&limit=1")
    plain = api.get(f"/v1/{tenant}/stacks/alpha")
    assert plain.headers["Location"].endswith(f"/stacks/alpha/{made['alpha']}")


def test_a_resource_list_with_nested_depth_has_the_nested_stacks_resources(api, stacks):
    tenant, made = stacks
    url = f"/v1/{tenant}/stacks/alpha/{made['alpha']}/resources"
    assert [r["resource_name"] for r in api.get(url).json["resources"]] == ["c"]
    listed = api.get(url + "?nested_depth=1").json["resources"]
    assert [r["resource_name"] for r in listed] == ["c", "leaf"]
    leaf = listed[1]
    assert leaf["parent_resource"] == "c" and "parent_resource" not in listed[0]
    stack_link = next(link["href"] for link in leaf["links"] if link["rel"] == "stack")
    assert stack_link.endswith(listed[0]["physical_resource_id"])
    assert api.get(url + "?nested_depth=x").status_code == 400
