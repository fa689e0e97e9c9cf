"""metrics.d scripts: `NAME VALUE` lines, a timeout, an output limit, problems logged once."""
import logging
import psutil
import pytest

from agent.metrics import scripts
from agent.metrics.system import NAMES
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)


def script(directory, name, body, mode=0o755):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("text, metrics, problem", [
    ("queue_depth 17\nlatency.ms 2.5\n", {"queue_depth": 17.0, "latency.ms": 2.5}, None),
    ("\n# a comment\n  a:b-c_d 1e3  \n", {"a:b-c_d": 1000.0}, None),
    ("ok 1\nnot-a-pair\nalso 2\n", {"ok": 1.0, "also": 2.0}, "line 2: expected NAME VALUE; line ignored"),
    ("9lives 1\n", {}, "line 1: bad name '9lives'"),
    ("x" * 65 + " 1\n", {}, "line 1: bad name"),
    ("load nan\n", {}, "line 1: 'nan' is not a finite number"),
    ("load inf\n", {}, "line 1: 'inf' is not a finite number"),
    ("load high\n", {}, "line 1: 'high' is not a finite number"),
])
def test_lines_are_parsed_and_the_first_bad_one_named(text, metrics, problem):
    found, why = scripts.parse(text)
    assert found == metrics
    if problem is None:
        assert why is None
    else:
        assert why.startswith(problem)


def test_every_executable_runs_in_name_order_others_are_skipped(tmp_path):
    d = tmp_path / "metrics.d"
    script(d, "20-b", "echo shared 2\necho b 1\n")
    script(d, "10-a", "echo shared 1\necho a \"$(pwd)\" >/dev/null; echo a 1\n")
    script(d, "30-not-executable", "echo no 1\n", mode=0o644)
    script(d, ".hidden", "echo hidden 1\n")
    script(d, "backup~", "echo backup 1\n")
    (d / "subdir").mkdir()
    assert scripts.ScriptMetrics(str(d)).sample() == {"shared": 2.0, "a": 1.0, "b": 1.0}


def test_a_missing_directory_gives_nothing_and_logs_nothing(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        assert scripts.ScriptMetrics(str(tmp_path / "absent")).sample() == {}
    assert caplog.records == []


def test_a_script_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    d = tmp_path / "metrics.d"
    pidfile = tmp_path / "child.pid"
    # the child's pid is written before the script prints, so it is there once a line arrives
    script(d, "slow", f"sleep 30 &\necho $! > {pidfile}\necho early 1\nwait\n")
    script(d, "fast", "echo fast 1\n")
    found = scripts.ScriptMetrics(str(d), timeout=2)
    assert found.sample() == {"fast": 1.0}  # the slow one's lines are not used
    assert found._problems["slow"] == "timed out after 2s; killed"
    child = int(pidfile.read_text())

    def gone():
        try:
            return psutil.Process(child).status() == psutil.STATUS_ZOMBIE  # killed, not yet reaped
        except psutil.NoSuchProcess:
            return True
    until(gone, 10, "the script's child to be killed")


def test_a_script_printing_too_much_is_cut_off(tmp_path):
    d = tmp_path / "metrics.d"
    script(d, "chatty", "while true; do echo chatty 1; done\n")
    found = scripts.ScriptMetrics(str(d), output_limit=1000)
    assert found.sample() == {}
    assert found._problems["chatty"] == "printed more than 1000 bytes; killed"


def test_a_failing_script_keeps_its_lines_and_is_logged_once_until_it_recovers(tmp_path, caplog):
    d = tmp_path / "metrics.d"
    flag = tmp_path / "broken"
    flag.write_text("")
    script(d, "probe", f"echo up 1\nif [ -e {flag} ]; then echo \"boom $$\" >&2; exit 3; fi\n")
    found = scripts.ScriptMetrics(str(d))
    with caplog.at_level(logging.INFO, logger="agent.metrics.scripts"):
        for _ in range(3):
            assert found.sample() == {"up": 1.0}
        flag.unlink()
        found.sample()
        found.sample()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith(f"metrics: {d}/probe: exit status 3: boom ")
    assert messages[1] == f"metrics: {d}/probe works again"


def test_built_in_names_are_reserved_and_the_sample_keeps_to_its_room(tmp_path):
    d = tmp_path / "metrics.d"
    script(d, "a", "echo cpu_util 99\necho mine 1\n")
    script(d, "b", "".join(f"echo m{i} {i}\n" for i in range(10)))
    found = scripts.ScriptMetrics(str(d), reserved=NAMES)
    metrics = found.sample(room=5)
    assert metrics == {"mine": 1.0, "m0": 0.0, "m1": 1.0, "m2": 2.0, "m3": 3.0}
    assert "built-in" in found._problems["a"] and "dropped" in found._problems["b"]


def test_at_most_max_scripts_run(tmp_path, monkeypatch):
    d = tmp_path / "metrics.d"
    monkeypatch.setattr(scripts, "MAX_SCRIPTS", 2)
    for name in ("a", "b", "c"):
        script(d, name, f"echo {name} 1\n")
    assert scripts.ScriptMetrics(str(d)).sample() == {"a": 1.0, "b": 1.0}


def test_a_script_others_could_write_is_skipped_and_said_once(tmp_path, caplog):
    d = tmp_path / "metrics.d"
    script(d, "open", "echo open 1\n", mode=0o757)
    script(d, "group", "echo group 1\n", mode=0o775)
    script(d, "fine", "echo fine 1\n", mode=0o755)
    found = scripts.ScriptMetrics(str(d))
    with caplog.at_level(logging.WARNING):
        assert found.sample() == {"fine": 1.0}
        assert found.sample() == {"fine": 1.0}
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all("writable by others" in m and "chmod go-w" in m for m in warned)
