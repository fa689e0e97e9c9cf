"""The files map: what `stoker stack create -t ... -e ...` uploads, as the openstack client does."""
from __future__ import annotations

import json
import textwrap

import pytest

from cli.operator.errors import USAGE, CliError
from cli.operator.files_map import (gather_environments, gather_template, path_to_url,
                                    stack_request_parts)


def write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_get_file_is_read_relative_to_the_template_and_rewritten(tmp_path):
    write(tmp_path, "scripts/install.sh", "#!/bin/sh\necho hi\n")
    template = write(tmp_path, "stacks/app.yaml", """\
        heat_template_version: 2018-08-31
        resources:
          config:
            type: OS::Heat::SoftwareConfig
            properties:
              config: {get_file: ../scripts/install.sh}
        """)
    files: dict = {}
    result = gather_template(path_to_url(template), files)
    url = (tmp_path / "scripts/install.sh").resolve().as_uri()
    assert result["resources"]["config"]["properties"]["config"] == {"get_file": url}
    assert files == {url: "#!/bin/sh\necho hi\n"}
    # dates stay strings, as Heat reads them, so the body can be sent as JSON
    assert result["heat_template_version"] == "2018-08-31"


def test_provider_templates_recurse_and_are_stored_as_json(tmp_path):
    write(tmp_path, "lib/data.txt", "payload")
    write(tmp_path, "lib/inner.yaml", """\
        heat_template_version: 2018-08-31
        resources:
          x: {type: OS::Heat::Value, properties: {value: {get_file: data.txt}}}
        """)
    write(tmp_path, "lib/outer.template", """\
        heat_template_version: 2018-08-31
        resources:
          inner: {type: inner.yaml}
        """)
    template = write(tmp_path, "main.yaml", """\
        heat_template_version: 2018-08-31
        resources:
          a: {type: lib/outer.template}
          b: {type: lib/outer.template}
          group:
            type: OS::Heat::ResourceGroup
            properties: {resource_def: {type: lib/inner.yaml}}
        """)
    files: dict = {}
    result = gather_template(path_to_url(template), files)
    outer = (tmp_path / "lib/outer.template").as_uri()
    inner = (tmp_path / "lib/inner.yaml").as_uri()
    data = (tmp_path / "lib/data.txt").as_uri()
    assert result["resources"]["a"]["type"] == outer == result["resources"]["b"]["type"]
    assert result["resources"]["group"]["properties"]["resource_def"]["type"] == inner
    assert set(files) == {outer, inner, data}
    # nested templates are stored rewritten, as JSON, with their own paths resolved beside them
    assert json.loads(files[outer])["resources"]["inner"]["type"] == inner
    assert json.loads(files[inner])["resources"]["x"]["properties"]["value"] == {"get_file": data}
    assert files[data] == "payload"


def test_builtin_types_urls_and_non_string_get_file_are_left_alone(tmp_path):
    template = write(tmp_path, "t.yaml", """\
        heat_template_version: 2018-08-31
        parameters:
          p: {type: string}
        resources:
          a: {type: OS::Heat::RandomString}
          b: {type: OS::Heat::Value, properties: {value: {get_file: {get_param: p}}}}
        """)
    files: dict = {}
    result = gather_template(path_to_url(template), files)
    assert files == {}
    assert result["resources"]["b"]["properties"]["value"] == {"get_file": {"get_param": "p"}}
    assert result["parameters"]["p"]["type"] == "string"


def test_http_references_are_fetched_through_the_reader(tmp_path):
    docs = {"http://example.test/t/main.yaml":
            "resources:\n  a: {type: nested.yaml}\n  b: {type: OS::Heat::None, "
            "properties: {x: {get_file: /abs/file.txt}}}\n",
            "http://example.test/t/nested.yaml": "resources: {}\n",
            "http://example.test/abs/file.txt": "content"}
    calls = []

    def reader(url):
        calls.append(url)
        return docs[url]
    parts = stack_request_parts("http://example.test/t/main.yaml", None, reader)
    assert parts["template"]["resources"]["a"]["type"] == "http://example.test/t/nested.yaml"
    assert parts["files"]["http://example.test/abs/file.txt"] == "content"
    assert calls.count("http://example.test/t/nested.yaml") == 1


def test_environments_resolve_registry_paths_beside_themselves(tmp_path):
    write(tmp_path, "env/provider.yaml", "heat_template_version: 2018-08-31\nresources: {}\n")
    write(tmp_path, "env/per_resource.yaml", "heat_template_version: 2018-08-31\n")
    first = write(tmp_path, "env/first.yaml", """\
        parameters: {size: 1}
        resource_registry:
          My::Thing: provider.yaml
          OS::Alias: OS::Heat::None
          resources:
            web: {My::Thing: per_resource.yaml, hooks: pre-create}
        """)
    second = write(tmp_path, "second.yaml", "parameter_defaults: {size: 2}\n")
    files: dict = {}
    listed = gather_environments([path_to_url(first), path_to_url(second)], files)
    assert listed == [first.as_uri(), second.as_uri()]          # order kept for the server's merge
    env = json.loads(files[first.as_uri()])
    provider = (tmp_path / "env/provider.yaml").as_uri()
    assert env["resource_registry"]["My::Thing"] == provider
    assert env["resource_registry"]["OS::Alias"] == "OS::Heat::None"
    assert env["resource_registry"]["resources"]["web"] == {
        "My::Thing": (tmp_path / "env/per_resource.yaml").as_uri(), "hooks": "pre-create"}
    assert provider in files
    assert json.loads(files[second.as_uri()]) == {"parameter_defaults": {"size": 2}}


def test_registry_base_url_overrides_the_environment_location(tmp_path):
    write(tmp_path, "elsewhere/p.yaml", "resources: {}\n")
    env = write(tmp_path, "env.yaml", f"""\
        resource_registry:
          base_url: {(tmp_path / 'elsewhere').as_uri()}
          My::P: p.yaml
        """)
    files: dict = {}
    gather_environments([path_to_url(env)], files)
    assert (tmp_path / "elsewhere/p.yaml").as_uri() in files


@pytest.mark.parametrize("name, text, expected", [
    ("missing.yaml", "resources:\n  a: {type: nope.yaml}\n",
     "missing.yaml: resources.a.type: cannot read 'nope.yaml'"),
    ("getfile.yaml", "resources:\n  a:\n    properties: {c: {get_file: gone.sh}}\n",
     "getfile.yaml: resources.a.properties.c.get_file: cannot read 'gone.sh'"),
    ("bad.yaml", "resources:\n  a: [1,\n", "bad.yaml:3:1: not valid YAML"),
    ("list.yaml", "- 1\n- 2\n", "list.yaml: a template must be a YAML mapping, not list"),
    ("self.yaml", "resources:\n  a: {type: self.yaml}\n", "template includes itself"),
])
def test_bad_files_name_the_file_and_field(tmp_path, name, text, expected):
    template = write(tmp_path, name, text)
    with pytest.raises(CliError) as caught:
        stack_request_parts(str(template), None)
    assert expected in caught.value.message
    assert caught.value.code == USAGE
    assert "\n" not in caught.value.message


def test_missing_template_and_environment(tmp_path):
    with pytest.raises(CliError, match=r"-t: cannot read the template .*does not exist"):
        stack_request_parts(str(tmp_path / "none.yaml"), None)
    template = write(tmp_path, "t.yaml", "resources: {}\n")
    with pytest.raises(CliError, match=r"-e: cannot read an environment"):
        stack_request_parts(str(template), [str(tmp_path / "none-env.yaml")])
