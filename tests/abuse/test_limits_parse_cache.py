"""A text shared by many stacks (a group's provider template) is parsed once per tenant, in a
cache bounded by entries and characters, so counting and creating a tree of a thousand copies of
a large provider template costs one parse, not a thousand."""
from __future__ import annotations

import json

import pytest

from metadata_server.engine.parse_cache import ParseCache
from tests.abuse.limits_app import create, limited, refused, wait  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def template(resources, parameters=None, outputs=None):
    return json.dumps({"heat_template_version": "2016-10-14", "parameters": parameters or {},
                       "resources": resources, "outputs": outputs or {}})


def group(count, member_type, **props):
    return {"type": "OS::Heat::ResourceGroup",
            "properties": {"count": count, "resource_def": {"type": member_type,
                                                            "properties": props}}}


INNER = template({"a": {"type": "OS::Heat::None"}}, {"i": {"type": "string", "default": ""}})


@pytest.fixture
def parses(monkeypatch):
    """The file names of the templates parsed, in order."""
    from metadata_server.engine import loader
    from metadata_server.engine.template import parse_template
    seen = []

    def counting(text, filename="<template>", files=None, limits=None):
        seen.append(filename)
        return parse_template(text, filename, files, limits)
    monkeypatch.setattr(loader.hot, "parse_template", counting)
    return seen


def test_counting_a_refused_tree_parses_its_provider_template_once(limited, parses):
    client = limited(max_resources_per_stack=300)
    top = template({f"r{i}": {"type": "inner.yaml", "properties": {"i": str(i)}}
                    for i in range(200)})
    message = refused(create(client, top, files={"inner.yaml": INNER}))   # 200 * 2 > 300
    assert "more than 300 resources" in message
    assert parses.count("inner.yaml") == 1


def test_counting_and_creating_a_group_parse_its_member_template_once(limited, parses):
    client = limited()
    response = create(client, template({"g": group(12, "inner.yaml")}),
                      files={"inner.yaml": INNER})
    assert response.status_code == 201, response.json
    stack = wait(client, response.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert parses.count("inner.yaml") == 1   # 12 members counted, then 12 members created


def test_tenants_do_not_share_what_was_parsed(limited, parses):
    client = limited()
    top = template({"r": {"type": "inner.yaml"}})
    for tenant, name in (("t1", "a"), ("t2", "a"), ("t1", "b")):
        response = create(client, top, name=name, tenant=tenant, files={"inner.yaml": INNER})
        assert response.status_code == 201, response.json
        wait(client, response.json["stack"]["id"])
    assert parses.count("inner.yaml") == 2   # once for t1 (its two stacks), once for t2
    assert parses.count("template") == 2


def test_stacks_sharing_a_template_keep_their_own_files(limited):
    client = limited()
    reader = template({"v": {"type": "OS::Heat::Value",
                             "properties": {"value": {"get_file": "data.txt"}}}},
                      outputs={"data": {"value": {"get_attr": ["v", "value"]}}})
    top = template({"r": {"type": "reader.yaml"}},
                   outputs={"data": {"value": {"get_attr": ["r", "data"]}}})
    for name in ("a", "b"):
        response = create(client, top, name=name,
                          files={"reader.yaml": reader, "data.txt": f"data of {name}"})
        assert response.status_code == 201, response.json
        stack = wait(client, response.json["stack"]["id"])
        assert stack["status"] == "COMPLETE", stack["status_reason"]
        output = client.get(f"/v1/t1/stacks/{name}/{stack['id']}/outputs/data").json["output"]
        assert output["output_value"] == f"data of {name}"


def test_the_cache_is_bounded_by_characters_and_entries():
    cache = ParseCache(max_chars=10, max_entries=3)
    for key in "abc":
        assert cache.get((key,), 4, lambda key=key: key.upper()) == key.upper()
    assert len(cache) == 2 and cache.chars == 8   # a went first, to stay within 10
    assert cache.get(("b",), 4, lambda: pytest.fail("b was kept")) == "B"
    assert cache.get(("big",), 11, lambda: "BIG") == "BIG"   # larger than it all: not kept
    assert len(cache) == 2 and cache.chars == 8
    small = ParseCache(max_chars=100, max_entries=3)
    for key in "abcde":
        small.get((key,), 1, lambda: key)
    assert len(small) == 3 and small.chars == 3


def test_a_failed_parse_is_not_kept():
    cache = ParseCache(max_chars=10)
    calls = []

    def failing():
        calls.append(1)
        raise ValueError("bad")
    for _ in range(2):
        with pytest.raises(ValueError):
            cache.get(("a",), 1, failing)
    assert len(calls) == 2 and len(cache) == 0
