"""`stoker stack ...` and `stoker template validate` against an in-memory fake of Heat's stack
API (the real routes are being built in metadata_server/api/stacks.py): request shapes, the files
map in the body, canonical stack paths, and --wait following events as they are recorded."""
from __future__ import annotations

import json
import re
import textwrap
import uuid

import pytest
import requests
from requests.adapters import BaseAdapter

from cli.main import build_parser
from cli.operator.client import Client, Settings
from cli.operator.errors import NOT_FOUND, USAGE, WAIT_FAILED, WAIT_TIMEOUT, CliError

API = "http://heat.test/v1/t"


class FakeHeat(BaseAdapter):
    """Heat's stack routes, in memory. A stack advances one event per GET of the stack."""

    def __init__(self, outcome="COMPLETE"):
        super().__init__()
        self.stacks, self.requests, self.outcome = {}, [], outcome

    def close(self):
        pass

    def _response(self, request, status, body=None, headers=None):
        response = requests.Response()
        response.status_code, response.request, response.url = status, request, request.url
        response.headers.update(headers or {})
        response._content = b"" if body is None else json.dumps(body).encode()
        return response

    def send(self, request, **kwargs):
        path = request.path_url.split("?")[0][len("/v1/t/"):]
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, request.path_url, body))
        by_name = {s["stack_name"]: s for s in self.stacks.values()}
        if path == "stacks" and request.method == "POST":
            stack = {"id": str(uuid.uuid4()), "stack_name": body["stack_name"],
                     "stack_status": "CREATE_IN_PROGRESS", "events": [], "body": body,
                     "pending": ["CREATE_IN_PROGRESS", f"CREATE_{self.outcome}"]}
            self.stacks[stack["id"]] = stack
            return self._response(request, 201, {"stack": {"id": stack["id"], "links": []}})
        if path in ("stacks/preview", "validate"):
            return self._response(request, 200, {"stack": {"stack_name": body.get("stack_name"),
                                  "resources": [[{"resource_name": "a", "resource_type": "T",
                                                  "required_by": []}]]}}
                                  if path == "stacks/preview" else {"Description": "d",
                                                                    "Parameters": {}})
        if path == "stacks" and request.method == "GET":
            return self._response(request, 200, {"stacks": [self._view(s) for s in
                                                            self.stacks.values()]})
        match = re.fullmatch(r"stacks/([^/]+)(?:/([^/]+))?(/.*)?", path)
        if not match:
            return self._response(request, 404, {"error": {"message": "no route"}})
        name, ident, rest = match.groups()
        stack = by_name.get(name) or self.stacks.get(name)
        if stack is None or stack.get("deleted"):
            return self._response(request, 404,
                                  {"error": {"message": f"The Stack ({name}) could not be found."}})
        if ident is None:    # Heat redirects lookups by name to the canonical path
            return self._response(request, 302, headers={
                "Location": f"{API}/stacks/{stack['stack_name']}/{stack['id']}{rest or ''}"})
        if rest == "/events":
            return self._response(request, 200, {"events": list(stack["events"])})
        if rest == "/outputs/out":
            return self._response(request, 200, {"output": {"output_key": "out",
                                                            "output_value": 42}})
        if rest is None and request.method == "GET":
            if stack["pending"]:
                self._advance(stack)
            elif stack["stack_status"] == "DELETE_COMPLETE":
                stack["deleted"] = True
            return self._response(request, 200, {"stack": self._view(stack)})
        if rest is None and request.method in ("PUT", "PATCH", "DELETE"):
            action = {"PUT": "UPDATE", "PATCH": "UPDATE", "DELETE": "DELETE"}[request.method]
            stack["pending"] = [f"{action}_IN_PROGRESS", f"{action}_{self.outcome}"]
            stack["body"] = body
            return self._response(request, 202 if action == "UPDATE" else 204)
        if rest == "/preview":
            return self._response(request, 200, {"resource_changes": {
                "added": [{"resource_name": "n", "resource_type": "T"}],
                "updated": [{"resource_name": "u", "resource_type": "T",
                             "reasons": ["property size changes"],
                             "changes": {"size": {"old": 1, "new": 2}}}],
                "replaced": [], "deleted": [], "unchanged": []}})
        return self._response(request, 404, {"error": {"message": "no route"}})

    def _advance(self, stack):
        status = stack["pending"].pop(0)
        stack["stack_status"] = status
        stack["events"].append({"id": str(len(stack["events"])), "resource_name":
                                stack["stack_name"], "resource_status": status,
                                "resource_status_reason": "because",
                                "event_time": f"2026-01-01T00:00:{len(stack['events']):02d}Z"})

    @staticmethod
    def _view(stack):
        return {"id": stack["id"], "stack_name": stack["stack_name"],
                "stack_status": stack["stack_status"], "stack_status_reason": "r",
                "creation_time": "2026-01-01T00:00:00Z", "outputs": [
                    {"output_key": "out", "output_value": 42}]}


@pytest.fixture
def heat():
    return FakeHeat()


def run(heat, *argv):
    """Parse like `stoker`, then run the command's handler on a client wired to the fake."""
    args = build_parser(argv[0]).parse_args(list(argv))
    session = requests.Session()
    session.mount("http://heat.test", heat)
    client = Client(Settings("http://heat.test", "tok", "t"), session)
    return args.handler(args, client)


@pytest.fixture
def template(tmp_path):
    (tmp_path / "boot.sh").write_text("echo boot\n")
    (tmp_path / "env.yaml").write_text("parameters: {flavor: small}\n")
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        heat_template_version: 2021-04-16
        parameters: {flavor: {type: string}}
        resources:
          c: {type: OS::Heat::SoftwareConfig, properties: {config: {get_file: boot.sh}}}
        """))
    return path


def test_create_sends_template_files_environments_and_parameters(heat, template, tmp_path):
    out = run(heat, "stack", "create", "web", "-t", str(template), "-e",
              str(tmp_path / "env.yaml"), "--parameter", "a=1;b=2", "--parameter", "c=x=y",
              "--timeout", "7", "--tags", "x,y", "-f", "json")
    # the engine's warnings are asked for first (template-validate), then the stack is made
    assert [r[1] for r in heat.requests[:2]] == ["/v1/t/validate", "/v1/t/stacks"]
    method, path, body = heat.requests[1]
    assert heat.requests[0][2] == {k: body[k] for k in heat.requests[0][2]}
    boot = (tmp_path / "boot.sh").as_uri()
    env = (tmp_path / "env.yaml").as_uri()
    assert body["stack_name"] == "web" and body["disable_rollback"] is True
    assert body["template"]["resources"]["c"]["properties"]["config"] == {"get_file": boot}
    assert body["files"][boot] == "echo boot\n"
    assert body["environment_files"] == [env]
    assert json.loads(body["files"][env]) == {"parameters": {"flavor": "small"}}
    assert body["parameters"] == {"a": "1", "b": "2", "c": "x=y"}
    assert body["timeout_mins"] == 7 and body["tags"] == ["x", "y"]
    assert json.loads(out)["stack_name"] == "web"


def test_create_wait_prints_each_event_once_and_ends_complete(heat, template, capsys):
    out = run(heat, "stack", "create", "web", "-t", str(template), "--wait", "--poll", "0",
              "-f", "value", "-c", "stack_status")
    err = capsys.readouterr().err.splitlines()
    assert out == "CREATE_COMPLETE"
    assert err == ["2026-01-01T00:00:00Z [web]: CREATE_IN_PROGRESS  because",
                   "2026-01-01T00:00:01Z [web]: CREATE_COMPLETE  because"]


def test_wait_failed_and_timeout_exit_codes(template):
    failing = FakeHeat(outcome="FAILED")
    with pytest.raises(CliError) as caught:
        run(failing, "stack", "create", "web", "-t", str(template), "--wait", "--poll", "0")
    assert caught.value.code == WAIT_FAILED
    assert "stack web CREATE_FAILED: r; see `stoker stack event list web`" == caught.value.message
    slow = FakeHeat()
    with pytest.raises(CliError) as caught:
        run(slow, "stack", "create", "web", "-t", str(template), "--wait", "--poll", "0",
            "--wait-timeout", "0")
    assert caught.value.code == WAIT_TIMEOUT


def test_update_uses_the_canonical_path_and_only_new_events(heat, template, capsys):
    run(heat, "stack", "create", "web", "-t", str(template), "--wait", "--poll", "0")
    capsys.readouterr()
    stack_id = next(iter(heat.stacks))
    run(heat, "stack", "update", "web", "--existing", "--parameter", "flavor=big", "--wait",
        "--poll", "0")
    patch = [r for r in heat.requests if r[0] == "PATCH"]
    assert patch == [("PATCH", f"/v1/t/stacks/web/{stack_id}",
                      {"files": {}, "parameters": {"flavor": "big"}})]
    err = capsys.readouterr().err
    assert "CREATE_" not in err and "UPDATE_COMPLETE" in err
    run(heat, "stack", "update", "web", "-t", str(template), "--rollback", "enabled")
    put = [r for r in heat.requests if r[0] == "PUT"][0]
    assert put[2]["disable_rollback"] is False and "template" in put[2]
    with pytest.raises(CliError) as caught:
        run(heat, "stack", "update", "web")
    assert caught.value.code == USAGE and "-t/--template is required" in caught.value.message


def test_delete_waits_until_the_stack_is_gone(heat, template, capsys):
    run(heat, "stack", "create", "web", "-t", str(template), "--wait", "--poll", "0")
    assert run(heat, "stack", "delete", "web", "-y", "--wait", "--poll", "0") == 0
    assert "DELETE_COMPLETE" in capsys.readouterr().err
    assert run(heat, "stack", "delete", "web", "-y") == NOT_FOUND


def test_show_list_outputs_events_preview_validate(heat, template):
    run(heat, "stack", "create", "web", "-t", str(template))
    assert "web" in run(heat, "stack", "list")
    assert json.loads(run(heat, "stack", "output", "show", "web", "out", "-f", "json")) == {
        "output_key": "out", "output_value": 42}
    assert json.loads(run(heat, "stack", "output", "show", "web", "--all", "-f", "json")) == {
        "out": 42}
    log = run(heat, "stack", "event", "list", "web", "-f", "log")
    assert log.startswith("2026-01-01T00:00:00Z [web]: CREATE_IN_PROGRESS")
    preview = run(heat, "stack", "preview", "p", "-t", str(template))
    assert "| a             | T             |" in preview
    plan = run(heat, "stack", "update", "web", "-t", str(template), "--dry-run", "-f", "value")
    assert plan.splitlines() == ["added n T ",
                                 "updated u T property size changes; size: 1 -> 2"]
    picked = run(heat, "stack", "update", "web", "-t", str(template), "--dry-run", "-f", "json",
                 "-c", "Change", "-c", "resource_name", "--sort-column", "resource_name")
    assert json.loads(picked) == [{"change": "added", "resource_name": "n"},
                                  {"change": "updated", "resource_name": "u"}]
    assert "Description: d" in run(heat, "template", "validate", "-t", str(template))
    with pytest.raises(CliError) as caught:
        run(heat, "stack", "show", "nope")
    assert caught.value.code == NOT_FOUND and "stack nope not found" in caught.value.message


def test_template_errors_stop_before_any_request(heat, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  a: {type: missing.yaml}\n")
    with pytest.raises(CliError) as caught:
        run(heat, "stack", "create", "web", "-t", str(bad))
    assert caught.value.code == USAGE and "resources.a.type" in caught.value.message
    assert heat.requests == []
