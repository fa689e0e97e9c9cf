"""Every built-in hook's behaviour table: one fixture file per case under fixtures/hooks/, all run
through the real runner (the hook as a subprocess, as in production).

A case has `item` (merged over a default item), optional `hook` (the group, default script),
`tool` (a recording fake of the hook's tool: its name, and the spec it replays, see fake_tool.py),
`tool_missing` (PATH holds only the fake tools dir, so the tool is absent), `env` (extra hook
environment), `setup_files` (path -> text written before the run), and what to check: `expect`
(payload keys and values), `absent` (keys not in the payload), `stderr_contains`,
`stdout_contains`, `expect_argv` (the tool's argv, without argv[0], per call), `expect_tool_env`
(variables the tool saw), `expect_files` (path -> exact text, or {"json": value}, or
{"yaml": value}), `expect_mode` (path -> permission bits as "0o600"). `{root}`, `{id}` and `{tmp}`
are replaced in every string.
"""
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from agent.paths import Paths
from agent.runner import DeploymentRunner
from tests.placeholders import fill

HERE = Path(__file__).parent
CASES = sorted((HERE / "fixtures" / "hooks").glob("*.json"))


def install_fake(fakebin: Path, name: str, spec) -> None:
    fakebin.mkdir(parents=True, exist_ok=True)
    tool = fakebin / name
    tool.write_text(f"#!{sys.executable}\n" + (HERE / "fake_tool.py").read_text())
    tool.chmod(0o755)
    (fakebin / f"{name}.spec.json").write_text(json.dumps(spec))


def tool_calls(fakebin: Path, name: str) -> list[dict]:
    path = fakebin / f"{name}.calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_hook_case(case_file, tmp_path, hook_env, outbox, transport, item_factory):
    raw = json.loads(case_file.read_text())
    ident = raw["item"].get("id", case_file.stem)
    root = tmp_path / "root"
    case = fill(raw, {"root": str(root), "id": ident, "tmp": str(tmp_path)})
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    env = dict(hook_env, **case.get("env", {}))
    env["PATH"] = str(fakebin) if case.get("tool_missing") else f"{fakebin}{os.pathsep}{hook_env.get('PATH', '')}"
    if "tool" in case:
        install_fake(fakebin, case["tool"]["name"], case["tool"].get("spec", {}))
    for path, text in case.get("setup_files", {}).items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    paths = Paths.under(str(root), env=env)
    runner = DeploymentRunner(paths, outbox, env=env)
    spec = dict(case["item"])
    spec.pop("id", None)
    item = item_factory(ident=ident, inputs=spec.pop("inputs", ()), outputs=spec.pop("outputs", ()),
                        group=case.get("hook", "script"), **spec)
    # a case's own deploy_* input (e.g. deploy_action DELETE) replaces the default one
    seen = set()
    item["inputs"] = [i for i in item["inputs"] if not (i["name"] in seen or seen.add(i["name"]))]

    [report] = runner.run([item])

    about = case["about"]
    assert report.outcome == "deployed", about
    [payload] = transport.payloads(item["id"])
    for key, value in case.get("expect", {}).items():
        assert payload.get(key) == value, f"{about}: {key}: {payload}"
    for key in case.get("absent", []):
        assert key not in payload, f"{about}: {key}"
    if "stderr_contains" in case:
        assert case["stderr_contains"] in payload["deploy_stderr"], about
    if "stdout_contains" in case:
        assert case["stdout_contains"] in payload["deploy_stdout"], about
    notify = Path(paths.deployed_dir) / f"{item['id']}.notify.json"
    assert json.loads(notify.read_text()) == payload
    if "tool" in case:
        calls = tool_calls(fakebin, case["tool"]["name"])
        if "expect_argv" in case:
            assert [c["argv"] for c in calls] == case["expect_argv"], about
        for name, value in case.get("expect_tool_env", {}).items():
            assert calls and calls[0]["env"].get(name) == value, f"{about}: {name}"
        if "expect_cwd" in case:
            assert calls[0]["cwd"] == case["expect_cwd"], about
    for path, expected in case.get("expect_files", {}).items():
        text = Path(path).read_text()
        if isinstance(expected, dict) and "json" in expected:
            assert json.loads(text) == expected["json"], f"{about}: {path}"
        elif isinstance(expected, dict) and "yaml" in expected:
            assert yaml.safe_load(text) == expected["yaml"], f"{about}: {path}"
        else:
            assert text == expected, f"{about}: {path}"
    for path, mode in case.get("expect_mode", {}).items():
        assert oct(os.stat(path).st_mode & 0o777) == mode, f"{about}: {path}"
    for path in case.get("expect_no_files", []):
        assert not Path(path).exists(), f"{about}: {path}"
