"""Errors and warnings point at the operator's own file, line and column (one fixture per case in
fixtures/positions/), against a real server: what the server reports in the JSON the CLI sends
is mapped back into the YAML the operator wrote."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli.operator.errors import NOT_FOUND
from cli.operator.files_map import parse_document
from cli.operator.sources import Sources, display_path

CASES = sorted((Path(__file__).parent / "fixtures" / "positions").glob("*.yaml"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_positions(stoker, tmp_path, monkeypatch, case):
    spec = yaml.safe_load(case.read_text())
    for name, text in spec["files"].items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.chdir(tmp_path)     # paths are shown as the operator typed them
    result = stoker(*spec["argv"])
    assert result.code == spec["code"], result.err
    for expected in spec["stderr"]:
        assert expected in result.err, result.err
    assert "Traceback" not in result.err
    for stack in spec.get("absent", []):
        assert stoker("stack", "show", stack).code == NOT_FOUND


DOCUMENT = """\
heat_template_version: 2018-08-31
resources:
  a:
    type: OS::Heat::Value   # a comment shifts nothing
    properties:
      value: {list_join: [",", ["x", 2, null, true]]}
  "b c":
    type: OS::Heat::None
"""


@pytest.mark.parametrize("token, line, column", [
    ('"heat_template_version"', 1, 1), ('"2018-08-31"', 1, 24), ('"resources"', 2, 1),
    ('"OS::Heat::Value"', 4, 11), ('"list_join"', 6, 15), ('null', 6, 41), ('true', 6, 47),
    ('"b c"', 7, 3), ('"OS::Heat::None"', 8, 11),
])
def test_every_json_token_maps_to_its_yaml_position(token, line, column):
    sources = Sources()
    node = yaml.compose(DOCUMENT)
    data = parse_document(DOCUMENT, "t.yaml")   # as the CLI reads it: dates stay strings
    text = sources.add("template", "t.yaml", node, data)
    assert text == json.dumps(data)
    offset = text.index(token)
    relocated = sources.relocate(f"template:1:{offset + 1}: x: boom")
    assert relocated == f"t.yaml:{line}:{column}: x: boom"


def test_a_bare_path_gets_the_templates_position_and_other_names_are_left_alone():
    sources = Sources()
    sources.add("template", "t.yaml", yaml.compose(DOCUMENT), parse_document(DOCUMENT, "t"))
    assert sources.relocate("resources.a.properties.value: bad") == \
        "t.yaml:6:14: resources.a.properties.value: bad"
    assert sources.relocate("resources.zz.type: bad") == "resources.zz.type: bad"
    assert sources.relocate("mytemplate:1:3: x") == "mytemplate:1:3: x"


def test_display_path_is_relative_below_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert display_path((tmp_path / "a/b.yaml").as_uri()) == "a/b.yaml"
    assert display_path("/elsewhere/x.yaml") == "/elsewhere/x.yaml"
    assert display_path("https://example.test/t.yaml") == "https://example.test/t.yaml"


@pytest.mark.timeout(60)
def test_update_existing_is_not_refused_for_what_the_stored_environment_gives(stoker, tmp_path):
    (tmp_path / "thing.yaml").write_text("heat_template_version: 2018-08-31\n")
    (tmp_path / "env.yaml").write_text("resource_registry:\n  My::Thing: thing.yaml\n")
    (tmp_path / "t.yaml").write_text("heat_template_version: 2018-08-31\nresources:\n"
                                     "  a: {type: My::Thing}\n")
    (tmp_path / "t2.yaml").write_text("heat_template_version: 2018-08-31\nresources:\n"
                                      "  a: {type: My::Thing}\n  b: {type: My::Thing}\n")
    assert stoker("stack", "create", "s", "-t", str(tmp_path / "t.yaml"), "-e",
                  str(tmp_path / "env.yaml"), "--wait", "--poll", "0.1").code == 0
    updated = stoker("stack", "update", "s", "--existing", "-t", str(tmp_path / "t2.yaml"),
                     "--wait", "--poll", "0.1", "-f", "value", "-c", "stack_status")
    assert updated.code == 0, updated.err
    assert updated.out.strip() == "UPDATE_COMPLETE"
