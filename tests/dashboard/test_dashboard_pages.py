"""The dashboard's pages through Flask's test client: stacks (graph, events, parameters, outputs),
template uploads with errors at their line, servers and deployments with the explain text."""
from __future__ import annotations

import io
import re

import pytest

from tests.dashboard.conftest import ADMIN, TENANT
from tests.waiting import until

TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  who: {type: string, default: world}
  secret: {type: string, hidden: true, default: hush}
resources:
  first:
    type: OS::Heat::Value
    properties: {value: {get_param: who}}
  "<b>second</b>":
    type: OS::Heat::Value
    properties: {value: {get_attr: [first, value]}}
outputs:
  greeting: {value: {get_attr: ["<b>second</b>", value]}, description: the greeting}
"""
BAD_FUNCTION = """\
heat_template_version: 2018-08-31
resources:
  first:
    type: OS::Heat::Value
    properties:
      value: {get_parm: who}
"""
BAD_YAML = "heat_template_version: 2018-08-31\nresources:\n  a:\n    type: x\n   b: 1\n"


@pytest.fixture
def signed_in(browser):
    assert browser.sign_in().status_code == 303
    return browser


def upload(browser, text, action="create", name="web", environment=None, parameters="",
           strict=True):
    data = {"csrf_token": browser.csrf(), "action": action, "stack_name": name,
            "parameters": parameters, "template": (io.BytesIO(text.encode()), "app.yaml")}
    if strict:
        data["strict"] = "on"
    if environment is not None:
        data["environment"] = (io.BytesIO(environment.encode()), "env.yaml")
    return browser.client.post("/dashboard/templates", data=data,
                               content_type="multipart/form-data")


def test_create_from_an_upload_then_the_stack_page_shows_graph_events_parameters_outputs(signed_in):
    created = upload(signed_in, TEMPLATE, parameters="who=dashboard")
    assert created.status_code == 303, created.get_data(as_text=True)
    page_url = created.headers["Location"]
    live_url = page_url + "/live.json"
    live = until(lambda: (lambda j: j if j["settled"] else None)(signed_in.get(live_url).json),
                 30, "the stack to settle")
    assert live["stack_status"] == "CREATE_COMPLETE" and live["icon"] == "\u2714"
    svg = live["svg"]
    # both nodes, each labelled with its status in words; the name is escaped, not markup
    assert svg.count('data-status="CREATE_COMPLETE"') == 2
    assert svg.count("\u2714 CREATE_COMPLETE") == 2
    assert "&lt;b&gt;second&lt;/b&gt;" in svg and "<b>" not in svg
    assert svg.count('class="edge"') == 1               # second depends on first
    assert "CREATE_COMPLETE" in live["events"] and "first" in live["events"]
    page = signed_in.get(page_url).get_data(as_text=True)
    assert "<b>second</b>" not in page
    assert re.search(r"<td>who</td><td><code>dashboard</code></td>", page)
    assert "hush" not in page                           # a hidden parameter stays masked
    assert "<pre>dashboard</pre>" in page and "the greeting" in page
    assert "Stack CREATE completed successfully" in page        # the events timeline
    table = page[page.index('<tbody id="resources">'):]          # the graph's text alternative
    assert table.index("<td>first</td><td>OS::Heat::Value</td>") < table.index("</tbody>")
    assert "CREATE_COMPLETE" in live["resources"]
    listing = signed_in.get("/dashboard/stacks").get_data(as_text=True)
    assert ">web</a>" in listing and "CREATE_COMPLETE" in listing


def test_a_misspelt_function_stops_the_upload_at_its_line(signed_in):
    response = upload(signed_in, BAD_FUNCTION)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error-line">6</strong>' in page
    bad = re.search(r'<span class="line bad"><span class="number">(\d+)</span>'
                    r'<span class="marker"[^>]*>[^<]*</span>([^<]*)</span>', page)
    assert bad and bad.group(1) == "6" and "get_parm" in bad.group(2)
    assert "did you mean" in page.lower()
    assert ">web</a>" not in signed_in.get("/dashboard/stacks").get_data(as_text=True)
    # unticking "stop on warnings" creates it as Heat would
    assert upload(signed_in, BAD_FUNCTION, strict=False).status_code == 303


def test_an_unknown_resource_type_is_shown_at_its_line(signed_in):
    text = BAD_FUNCTION.replace("OS::Heat::Value", "OS::Heat::Valu")
    page = upload(signed_in, text).get_data(as_text=True)
    assert "OS::Heat::Valu" in page and 'class="error-line">4</strong>' in page


def test_a_yaml_syntax_error_is_shown_at_its_line_and_column(signed_in):
    page = upload(signed_in, BAD_YAML).get_data(as_text=True)
    assert 'class="error-line">5</strong>, column 4' in page


def test_an_environment_error_points_into_the_environment(signed_in):
    env = "parameters:\n  who: x\nbogus_section: {}\n"
    page = upload(signed_in, TEMPLATE, environment=env).get_data(as_text=True)
    assert "In the environment at line" in page
    assert 'class="error-line">3</strong>' in page


def test_preview_lists_the_resources_without_creating_anything(signed_in):
    response = upload(signed_in, TEMPLATE, action="preview", name="pre")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="preview"' in page and "OS::Heat::Value" in page
    assert ">pre</a>" not in signed_in.get("/dashboard/stacks").get_data(as_text=True)


def test_bad_parameter_lines_and_missing_files_are_form_errors(signed_in):
    page = upload(signed_in, TEMPLATE, parameters="no equals sign").get_data(as_text=True)
    assert "parameters line 1: write name=value" in page
    response = signed_in.client.post("/dashboard/templates", data={
        "csrf_token": signed_in.csrf(), "action": "create", "stack_name": "x"},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "template: choose a file to upload" in response.get_data(as_text=True)


def test_update_of_an_unknown_stack_is_a_page_not_json(signed_in):
    response = upload(signed_in, TEMPLATE, action="update", name="nope")
    assert response.status_code == 404
    assert "could not be found" in response.get_data(as_text=True)
    missing = signed_in.get("/dashboard/stacks/no-such-id")
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_servers_and_a_deployments_logs_and_explanation(app, signed_in):
    api = app.test_client()
    auth = {"X-Auth-Token": ADMIN}
    server = api.post(f"/v1/{TENANT}/servers", json={"name": "web-1"}, headers=auth).json
    server_id = server["server"]["id"]
    config = api.post(f"/v1/{TENANT}/software_configs", headers=auth, json={
        "name": "c", "group": "script", "config": "#!/bin/sh\necho hi\n"}).json
    deployment = api.post(f"/v1/{TENANT}/software_deployments", headers=auth, json={
        "config_id": config["software_config"]["id"], "server_id": server_id,
        "action": "CREATE", "status": "IN_PROGRESS"}).json["software_deployment"]
    listing = signed_in.get("/dashboard/servers").get_data(as_text=True)
    assert "web-1" in listing and "never seen" in listing
    finished = api.put(f"/v1/{TENANT}/software_deployments/{deployment['id']}", headers=auth,
                       json={"status": "FAILED", "status_reason": "exit 3", "output_values": {
                           "deploy_stdout": "step one\n", "deploy_stderr": "<oops> broke\n",
                           "deploy_status_code": 3}})
    assert finished.status_code == 200, finished.json
    server_page = signed_in.get(f"/dashboard/servers/{server_id}").get_data(as_text=True)
    assert deployment["id"] in server_page and "CREATE_FAILED" in server_page
    page = signed_in.get(f"/dashboard/deployments/{deployment['id']}").get_data(as_text=True)
    assert '<pre id="stdout" class="log" tabindex="0">step one\n</pre>' in page
    assert "&lt;oops&gt; broke" in page and "<oops>" not in page
    assert "The deployment failed: exit 3." in page            # `deployment explain`'s words
    assert "Exit status</dt><dd>3</dd>" in page
