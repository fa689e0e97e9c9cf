"""The deployment runner (55-heat-config): markers, skips, hook lookup, signal data."""
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from agent.outbox import NO_SIGNAL, SENT
from agent.paths import Paths
from agent.runner import (ALREADY_DEPLOYED, APPLIED, DEPLOYED, FAILED, NO_ACTION, NO_HOOK, DeploymentRunner,
                          signal_data)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def write_hook(directory, name, body):
    """An external hook executable: records its stdin next to itself, then runs `body`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / name
    hook.write_text(f"#!/bin/sh\ncat > '{directory}/{name}.stdin'\n{body}\n")
    hook.chmod(0o755)
    return hook


def test_writes_heat_config_and_private_marker_before_running_the_hook(runner, paths, transport, item_factory):
    marker = Path(paths.deployed_dir) / "dep-1.json"
    item = item_factory(config='#!/bin/sh\ntest -f "$marker" && echo marker-present\n',
                        inputs=[{"name": "marker", "type": "String", "value": str(marker)}])

    [report] = runner.run([item])

    assert report.outcome == DEPLOYED and report.signal == SENT and report.status_code == 0
    assert json.loads(Path(paths.heat_config).read_text()) == [item]
    assert mode(paths.heat_config) == 0o600
    assert json.loads(marker.read_text()) == item
    assert mode(marker) == 0o600
    assert mode(Path(paths.deployed_dir) / "dep-1.notify.json") == 0o600
    assert transport.payloads("dep-1")[0]["deploy_stdout"] == "marker-present\n"


def test_already_deployed_items_are_skipped_and_a_new_id_runs(runner, transport, item_factory):
    first = item_factory("dep-1")
    assert [r.outcome for r in runner.run([first])] == [DEPLOYED]
    updated = item_factory("dep-2", name="dep-1")  # an UPDATE is a new derived config id
    assert [r.outcome for r in runner.run([first, updated])] == [ALREADY_DEPLOYED, DEPLOYED]
    assert [item["id"] for item, _ in transport.sent] == ["dep-1", "dep-2"]


def test_no_hook_is_reported_as_a_failure_without_a_marker(runner, paths, transport, item_factory, caplog):
    with caplog.at_level(logging.ERROR):
        reports = runner.run([item_factory("a", group="no-such-tool"), item_factory("b", group="os-apply-config")])
    assert [r.outcome for r in reports] == [NO_HOOK, APPLIED]
    # upstream skipped silently and Heat waited for its timeout; stoker says why, once
    message = f"no hook for group 'no-such-tool' (looked in {', '.join(paths.hook_dirs)} and the built-in hooks)"
    assert transport.payloads("a") == [
        {"deploy_stdout": "", "deploy_stderr": f"stoker: {message}\n", "deploy_status_code": 127}]
    assert not (Path(paths.deployed_dir) / "a.json").exists()
    # os-apply-config deployments are applied by os-apply-config: no complaint about them
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"deployment a (a): {message}; reported as failed"]
    assert [r.outcome for r in runner.run([item_factory("a", group="no-such-tool")])] == [ALREADY_DEPLOYED]
    assert len(transport.payloads("a")) == 1


def test_hook_directories_take_precedence_in_order(tmp_path, hook_env, outbox, transport, item_factory):
    root = tmp_path / "root"
    extra = tmp_path / "extra-hooks"
    env = dict(hook_env, HEAT_CONFIG_HOOKS=str(extra))
    paths = Paths.under(str(root), env=env)
    assert paths.hook_dirs == (str(extra), str(root / "usr/libexec/heat-config/hooks"),
                               str(root / "var/lib/heat-config/hooks"))
    runner = DeploymentRunner(paths, outbox, env=env)

    write_hook(root / "var/lib/heat-config/hooks", "script", 'echo \'{"deploy_stdout": "var-lib"}\'')
    runner.run([item_factory("d1")])
    write_hook(root / "usr/libexec/heat-config/hooks", "script", 'echo \'{"deploy_stdout": "libexec"}\'')
    runner.run([item_factory("d2")])
    write_hook(extra, "script", 'echo \'{"deploy_stdout": "extra", "deploy_status_code": 0}\'')
    item = item_factory("d3")
    runner.run([item])

    assert [p["deploy_stdout"] for _, p in transport.sent] == ["var-lib", "libexec", "extra"]
    assert json.loads((extra / "script.stdin").read_text()) == item  # the item on stdin, as is


def test_builtin_hook_is_the_fallback(runner, transport, item_factory):
    runner.run([item_factory(config="#!/bin/sh\necho builtin\n")])
    assert transport.sent[0][1]["deploy_stdout"] == "builtin\n"


def test_group_name_is_sanitised_for_lookup(tmp_path, hook_env, outbox, transport, item_factory):
    env = dict(hook_env, HEAT_CONFIG_HOOKS=str(tmp_path / "hooks"))
    write_hook(tmp_path / "hooks", "HeatUngrouped", "echo plain text output")
    runner = DeploymentRunner(Paths.under(str(tmp_path / "root"), env=env), outbox, env=env)

    [report] = runner.run([item_factory(group="Heat::Ungrouped")])

    assert report.outcome == DEPLOYED
    # non-JSON stdout: reported as output with the return code
    assert transport.sent[0][1] == {"deploy_stdout": "plain text output\n", "deploy_stderr": "",
                                    "deploy_status_code": 0}


def test_unexecutable_hook_is_signalled_as_a_failure(tmp_path, hook_env, outbox, transport, item_factory):
    env = dict(hook_env, HEAT_CONFIG_HOOKS=str(tmp_path / "hooks"))
    write_hook(tmp_path / "hooks", "script", "true").chmod(0o644)
    runner = DeploymentRunner(Paths.under(str(tmp_path / "root"), env=env), outbox, env=env)

    [report] = runner.run([item_factory()])

    assert report.status_code == 126
    assert "Permission denied" in transport.sent[0][1]["deploy_stderr"]


def test_component_runs_the_config_for_the_current_action(runner, transport, item_factory, paths):
    config = {"configs": [
        {"actions": ["CREATE"], "config": "#!/bin/sh\necho created\n", "tool": "script"},
        {"actions": ["DELETE"], "config": "#!/bin/sh\necho deleted\n", "tool": "script"},
    ]}
    item = item_factory("c1", group="component", config=config)
    [report] = runner.run([item])
    assert report.outcome == DEPLOYED
    assert transport.sent[0][1]["deploy_stdout"] == "created\n"
    marker = json.loads((Path(paths.deployed_dir) / "c1.json").read_text())
    assert marker["group"] == "script" and marker["config"] == "#!/bin/sh\necho created\n"

    suspend = item_factory("c2", group="component", config=config)
    suspend["inputs"][1]["value"] = "SUSPEND"
    assert [r.outcome for r in runner.run([suspend])] == [NO_ACTION]
    assert not (Path(paths.deployed_dir) / "c2.json").exists()


def test_one_bad_item_does_not_stop_the_others(runner, transport, item_factory):
    no_inputs = item_factory("no-inputs")
    no_inputs["inputs"] = None
    reports = runner.run(["not an item", {"id": "../x"}, no_inputs, item_factory("good")])
    assert [r.outcome for r in reports] == [FAILED, FAILED, FAILED, DEPLOYED]
    assert [item["id"] for item, _ in transport.sent] == ["good"]


def test_no_signal_transport(runner, transport, item_factory, paths):
    [report] = runner.run([item_factory(signal_url=None)])
    assert report.signal == NO_SIGNAL
    assert transport.sent == []
    assert (Path(paths.deployed_dir) / "dep-1.notify.json").exists()


def test_the_callers_list_is_not_modified(runner, item_factory):
    item = item_factory(inputs=[{"name": "n", "type": "String", "value": 5}])
    runner.run([item])
    assert item["inputs"][0]["value"] == 5


@pytest.mark.parametrize("rc, stdout, stderr, expected", [
    (0, "", "", {}),
    (0, '{"deploy_status_code": 0, "out": 1}', "", {"deploy_status_code": 0, "out": 1}),
    (2, '{"deploy_status_code": 9}', "x", {"deploy_status_code": 9}),  # stdout JSON wins even on rc != 0
    (1, "", "boom", {"deploy_stdout": "", "deploy_stderr": "boom", "deploy_status_code": 1}),
    (0, "not json", "e", {"deploy_stdout": "not json", "deploy_stderr": "e", "deploy_status_code": 0}),
    (0, "[1, 2]", "", {"deploy_stdout": "[1, 2]", "deploy_stderr": "", "deploy_status_code": 0}),
])
def test_signal_data(rc, stdout, stderr, expected):
    assert signal_data(rc, stdout, stderr) == expected


def test_markers_in_the_old_directory_are_migrated(runner, paths, transport, item_factory):
    old = Path(paths.old_deployed_dir)
    old.mkdir(parents=True)
    (old / "dep-1.json").write_text("{}")
    assert [r.outcome for r in runner.run([item_factory("dep-1"), item_factory("dep-2")])] == [
        ALREADY_DEPLOYED, DEPLOYED]
    assert not old.exists() and (Path(paths.deployed_dir) / "dep-1.json").read_text() == "{}"
    assert [item["id"] for item, _ in transport.sent] == ["dep-2"]


def test_os_apply_config_items_are_signalled_once_after_every_hook_ran(runner, paths, transport, item_factory):
    # 99-refresh-completed's signal: after the whole run, once per deployment, with its marker.
    items = [item_factory("o1", group="os-apply-config", config={"x": 1}), item_factory("s1")]
    reports = runner.run(items)
    assert [(r.outcome, r.status_code) for r in reports] == [(APPLIED, 0), (DEPLOYED, 0)]
    assert [item["id"] for item, _ in transport.sent] == ["s1", "o1"]
    assert transport.payloads("o1") == [{"deploy_stdout": "os-apply-config deployment o1 completed",
                                         "deploy_status_code": "0"}]
    marker = Path(paths.oac_deployed_dir) / "o1"
    assert marker.exists() and mode(marker) == 0o600
    assert [r.outcome for r in runner.run(items)] == [ALREADY_DEPLOYED, ALREADY_DEPLOYED]
    assert len(transport.sent) == 2


def test_os_apply_config_item_marked_by_upstream_is_not_signalled_again(runner, paths, transport, item_factory):
    Path(paths.oac_deployed_dir).mkdir(parents=True)
    (Path(paths.oac_deployed_dir) / "o1").write_text("")
    [report] = runner.run([item_factory("o1", group="os-apply-config", config={})])
    assert report.outcome == ALREADY_DEPLOYED and transport.sent == []


def test_os_apply_config_item_whose_signal_failed_is_resent_not_re_marked(runner, transport, item_factory):
    item = item_factory("o1", group="os-apply-config", config={})
    transport.fail_next()
    [first] = runner.run([item])
    assert first.outcome == APPLIED and transport.sent == []
    runner.outbox.flush()
    assert transport.payloads("o1") == [{"deploy_stdout": "os-apply-config deployment o1 completed",
                                         "deploy_status_code": "0"}]
    assert [r.outcome for r in runner.run([item])] == [ALREADY_DEPLOYED]
