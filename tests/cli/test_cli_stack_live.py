"""`stoker stack ...` against the real stack routes and engine of a running `stoker server`:
local files uploaded and used, --wait following events, outputs, update, delete, failures."""
from __future__ import annotations

import json
import textwrap

import pytest

from cli.operator.errors import NOT_FOUND, USAGE, WAIT_FAILED

TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  who: {type: string, default: world}
resources:
  greeting:
    type: OS::Heat::Value
    properties: {value: {list_join: [' ', [hello, {get_param: who}]]}}
  script:
    type: OS::Heat::SoftwareConfig
    properties: {group: script, config: {get_file: files/hello.sh}}
  nested:
    type: lib/inner.yaml
    properties: {x: {get_attr: [greeting, value]}}
outputs:
  greeting: {value: {get_attr: [greeting, value]}, description: the greeting}
  script: {value: {get_attr: [script, config]}}
  inner: {value: {get_attr: [nested, y]}}
"""
INNER = """\
heat_template_version: 2018-08-31
parameters:
  x: {type: string}
resources:
  v: {type: OS::Heat::Value, properties: {value: {get_file: ../files/word.txt}}}
outputs:
  y: {value: {list_join: ['/', [{get_param: x}, {get_attr: [v, value]}]]}}
"""
FAILING = """\
heat_template_version: 2018-08-31
resources:
  ok: {type: OS::Heat::TestResource}
  broken:
    type: OS::Heat::TestResource
    properties: {fail: true}
    depends_on: ok
"""


@pytest.fixture
def tree(tmp_path):
    for name, text in (("app.yaml", TEMPLATE), ("lib/inner.yaml", INNER),
                       ("files/hello.sh", "#!/bin/sh\necho hi\n"), ("files/word.txt", "bird"),
                       ("env/who.yaml", "parameters: {who: env}\n"),
                       ("failing.yaml", FAILING)):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def events(err):
    return [line.split("]: ", 1)[0].split(" [", 1)[1] + " " + line.split("]: ", 1)[1].split()[0]
            for line in err.splitlines() if "]: " in line]


@pytest.mark.timeout(60)
def test_create_with_local_files_wait_outputs_update_delete(stoker, tree):
    created = stoker("stack", "create", "app", "-t", str(tree / "app.yaml"), "-e",
                     str(tree / "env/who.yaml"), "--wait", "--poll", "0.1", "-f", "json")
    assert created.code == 0, created.err
    assert json.loads(created.out)["stack_status"] == "CREATE_COMPLETE"
    seen = events(created.err)
    assert seen[0] == "app CREATE_IN_PROGRESS" and seen[-1] == "app CREATE_COMPLETE"
    for name in ("greeting", "script", "nested"):
        assert seen.index(f"{name} CREATE_IN_PROGRESS") < seen.index(f"{name} CREATE_COMPLETE")
    assert len(seen) == len(set(seen))               # each event shown once

    outputs = json.loads(stoker("stack", "output", "show", "app", "--all", "-f", "json").out)
    # the environment's parameter, get_file content, and a provider template beside the
    # template whose own get_file is resolved beside it
    assert outputs == {"greeting": "hello env", "script": "#!/bin/sh\necho hi\n",
                       "inner": "hello env/bird"}
    one = json.loads(stoker("stack", "output", "show", "app", "greeting", "-f", "json").out)
    assert one["output_value"] == "hello env" and one["description"] == "the greeting"
    listed = stoker("stack", "output", "list", "app", "-f", "value", "-c", "output_key")
    assert listed.out.split() == ["greeting", "script", "inner"]

    resources = json.loads(stoker("stack", "resource", "list", "app", "-f", "json").out)
    nested_type = (tree / "lib/inner.yaml").as_uri()
    assert {r["resource_name"]: r["resource_type"] for r in resources}["nested"] == nested_type
    shown = json.loads(stoker("stack", "resource", "show", "app", "greeting", "-f", "json").out)
    assert shown["resource_status"] == "CREATE_COMPLETE"

    updated = stoker("stack", "update", "app", "--existing", "--parameter", "who=there",
                     "--wait", "--poll", "0.1", "-f", "value", "-c", "stack_status")
    assert updated.code == 0, updated.err
    assert updated.out == "UPDATE_COMPLETE\n"
    assert not [e for e in events(updated.err) if "CREATE" in e]   # only this operation's events
    assert json.loads(stoker("stack", "output", "show", "app", "greeting", "-f",
                             "json").out)["output_value"] == "hello there"

    log = stoker("stack", "event", "list", "app", "-f", "log")
    assert "[app]: UPDATE_COMPLETE" in log.out and "[app]: CREATE_IN_PROGRESS" in log.out
    listing = json.loads(stoker("stack", "list", "-f", "json").out)
    assert [s["stack_name"] for s in listing] == ["app"]

    deleted = stoker("stack", "delete", "app", "-y", "--wait", "--poll", "0.1")
    assert deleted.code == 0, deleted.err
    assert "[app]: DELETE_COMPLETE" in deleted.err
    gone = stoker("stack", "show", "app")
    assert gone.code == NOT_FOUND and gone.err.startswith("stoker: error: stack app not found")


@pytest.mark.timeout(60)
def test_failed_create_exits_7_with_the_reason(stoker, tree):
    failed = stoker("stack", "create", "bad", "-t", str(tree / "failing.yaml"), "--wait",
                    "--poll", "0.1")
    assert failed.code == WAIT_FAILED
    last = failed.err.strip().splitlines()[-1]
    assert last.startswith("stoker: error: stack bad CREATE_FAILED: ")
    assert "Test Resource failed broken" in last
    assert "broken CREATE_FAILED" in events(failed.err)


@pytest.mark.timeout(60)
def test_preview_validate_and_refusals(stoker, tree):
    preview = stoker("stack", "preview", "p", "-t", str(tree / "app.yaml"), "-f", "json")
    assert preview.code == 0, preview.err
    assert {r["resource_name"] for r in json.loads(preview.out)["resources"]} == {
        "greeting", "script", "nested"}
    assert stoker("stack", "show", "p").code == NOT_FOUND            # nothing was created

    valid = stoker("template", "validate", "-t", str(tree / "app.yaml"), "-f", "json")
    assert valid.code == 0, valid.err
    assert json.loads(valid.out)["Parameters"]["who"]["Default"] == "world"

    bad = tree / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        heat_template_version: 2018-08-31
        resources:
          v: {type: OS::Heat::Value, properties: {value: {get_param: nope}}}
        """))
    refused = stoker("template", "validate", "-t", str(bad))
    assert refused.code == 1 and "nope" in refused.err and len(refused.err.splitlines()) == 1
    unknown = stoker("stack", "create", "x", "-t", str(tree / "app.yaml"), "--parameter",
                     "bogus=1")
    assert unknown.code == 1 and "bogus" in unknown.err
    local = stoker("stack", "create", "x", "-t", str(tree / "missing.yaml"))
    assert local.code == USAGE and "missing.yaml does not exist" in local.err
