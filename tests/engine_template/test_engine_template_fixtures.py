"""One YAML fixture per case under fixtures/<area>/: parameters and constraints, conditions,
environments and their merging, error locations, masking, functions beyond Heat's data.

A fixture holds the template as text (so positions are real), optional environment files,
parameters, files, resource attributes for a fake engine, and what to expect: resolved
outputs, parameter values, enabled resources, mapped types, dependencies, merged environment,
masking, or an error (kind, message fragment, file, line, column, path).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from metadata_server.engine.template import (StackIdentity, TemplateError, bind, format_path,
                                             merge_environments, parse_environment,
                                             parse_template)
from metadata_server.engine.template.functions import select_path

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.yaml"))
CASE_KEYS = {"description", "template", "filename", "files", "environments", "params", "strict",
             "update", "attributes", "facade", "resolve", "expect", "pad_to", "skip_if_module",
             "requires_module"}
EXPECT_KEYS = {"error", "outputs", "output_errors", "parameters", "resources", "types",
               "providers", "definitions", "dependencies", "properties", "environment",
               "shown_parameters", "mask", "warnings", "child_registry"}
IDENTITY = StackIdentity("mystack", "0000-stack-id", "project-1")


class FakeEngine:
    """The engine side of resolution: ids are '<name>-id', attributes come from the fixture."""

    def __init__(self, attributes: dict, facade: dict | None):
        self.attributes = attributes
        self.facade = facade

    def resource_id(self, name):
        return f"{name}-id"

    def attribute(self, name, attr, path):
        attrs = self.attributes.get(name, {})
        if attr is None:
            return attrs
        return select_path(attrs.get(attr), path)

    def resource_facade(self, section):
        if self.facade is None:
            raise TemplateError("resource_facade is only available in a nested stack",
                                kind="StackValidationFailed")
        return self.facade[section]


def _run(case: dict):
    """Everything up to the bound template; returns (bound, merged environment)."""
    text = case["template"]
    if "pad_to" in case:
        text = text.replace("PAD", "x" * case["pad_to"])
    template = parse_template(text, case.get("filename", "template.yaml"),
                              case.get("files"))
    envs = [parse_environment(e["text"], e["name"]) for e in case.get("environments", [])]
    param_types = {n: s.type for n, s in template.parameters.items()}
    environment = merge_environments(envs, param_types) if envs else None
    bound = bind(template, environment, case.get("params"), IDENTITY,
                 strict=case.get("strict", True))
    if "update" in case:
        new_template = parse_template(case["update"].get("template", case["template"]),
                                      "template.yaml")
        bind(new_template, None, case["update"].get("params"), IDENTITY).check_update(bound)
    return bound, environment


def _check_error(exc: TemplateError, want: dict):
    assert set(want) <= {"kind", "message", "file", "line", "column", "path", "not_in_message"}
    if "kind" in want:
        assert exc.kind == want["kind"], exc
    if "message" in want:
        assert want["message"] in exc.message, exc
    for key in ("file", "line", "column"):
        if key in want:
            assert getattr(exc, "filename" if key == "file" else key) == want[key], exc
    if "path" in want:
        assert format_path(exc.path) == want["path"], exc
    for secret in want.get("not_in_message", []):
        assert secret not in str(exc), exc


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
@pytest.mark.timeout(10)
def test_template_fixture(path: Path):
    case = yaml.safe_load(path.read_text())
    # a misspelt key would make a fixture assert nothing: refuse it
    assert set(case) <= CASE_KEYS, set(case) - CASE_KEYS
    assert set(case["expect"]) <= EXPECT_KEYS, set(case["expect"]) - EXPECT_KEYS
    if case.get("skip_if_module") and importlib.util.find_spec(case["skip_if_module"]):
        pytest.skip(f"{case['skip_if_module']} is installed")
    if case.get("requires_module"):
        pytest.importorskip(case["requires_module"], reason="optional library not installed")
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(TemplateError) as info:
            bound, _ = _run(case)
            ctx = FakeEngine(case.get("attributes", {}), case.get("facade"))
            for name in case.get("resolve", []):   # errors that only show at resolve time
                bound.resolve_properties(name, ctx)
        _check_error(info.value, expect["error"])
        return
    bound, environment = _run(case)
    ctx = FakeEngine(case.get("attributes", {}), case.get("facade"))
    if "outputs" in expect:
        got = {o["output_key"]: o for o in bound.outputs(ctx)}
        for key, value in expect["outputs"].items():
            assert "output_error" not in got[key], got[key]
            assert got[key]["output_value"] == value, (key, got[key])
            assert type(got[key]["output_value"]) is type(value), (key, got[key])
    for key, fragment in expect.get("output_errors", {}).items():
        out = bound.output(key, ctx)
        assert out["output_value"] is None and fragment in out["output_error"], out
    if "parameters" in expect:
        values = bound.parameter_values()
        for key, value in expect["parameters"].items():
            assert values[key] == value and type(values[key]) is type(value), (key, values[key])
    if "resources" in expect:
        assert [d.name for d in bound.resource_definitions()] == expect["resources"]
    for name, rtype in expect.get("types", {}).items():
        assert bound.definition(name).type == rtype
    for name, provider in expect.get("providers", {}).items():
        assert bound.definition(name).provider_template == provider
    for name, fields in expect.get("definitions", {}).items():
        defn = bound.definition(name)
        for field, value in fields.items():
            got = getattr(defn, field)
            assert (list(got) if isinstance(got, tuple) else got) == value, (name, field, got)
    for name, deps in expect.get("dependencies", {}).items():
        assert bound.dependencies(name) == set(deps)
    for name, props in expect.get("properties", {}).items():
        assert bound.resolve_properties(name, ctx) == props
    if "environment" in expect:
        merged = environment.to_dict()
        for section, value in expect["environment"].items():
            assert merged[section] == value, (section, merged[section])
    if "shown_parameters" in expect:
        shown = bound.shown_parameters()
        for key, value in expect["shown_parameters"].items():
            assert shown[key] == value
    if "warnings" in expect:
        assert bound.warnings == expect["warnings"]
    for item in expect.get("mask", []):
        assert bound.mask(item["input"]) == item["output"]
    if "child_registry" in expect:
        child = environment.child_for(expect["child_registry"]["resource"])
        assert child.resource_registry == expect["child_registry"]["registry"]
        assert child.parameters == {}
