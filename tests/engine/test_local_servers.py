"""The local driver's servers belong to the machine's nodes together, not to the process that
created them: real keeper processes, with a stand-in agent (a Python loop that notes its pid)
so each case takes a second or two. The real agent is in test_local_servers_e2e.py.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from metadata_server.engine.drivers import LocalDriver
from metadata_server.engine.drivers.local_servers import keeper_alive, kill_all_under
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
# stands in for `stoker agent --root ROOT`: notes its pid in ROOT/starts, then idles
AGENT = [sys.executable, "-c", textwrap.dedent("""
    import signal, sys, time
    root = sys.argv[sys.argv.index("--root") + 1]
    with open(root + "/starts", "a") as f:
        f.write("%d\\n" % __import__("os").getpid())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(1)
""")]
WATCH = {"os_collect_config": {"watch": {"metadata_url": "http://127.0.0.1:9/m",
                                         "auth_token": "secret-token"}}}
LOADED = 30   # seconds a process may take to start or end on a loaded 2-core machine


def _agents(root: Path) -> list[int]:
    try:
        return [int(line) for line in (root / "starts").read_text().split()]
    except FileNotFoundError:
        return []


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _record(root: Path) -> dict:
    return json.loads((root / "keeper.json").read_text())


def _started(root: Path) -> int:
    """The agent's pid once its keeper runs it."""
    return until(lambda: _agents(root) and _agents(root)[-1], LOADED, "the agent to start")


def _node_process(state: Path, grace: float, server_id: str | None = None) -> subprocess.Popen:
    """Another process using the directory as a node (a worker, a `stoker server`): it adopts
    what is there, creates `server_id` if given, prints `ready` and lives until killed."""
    script = textwrap.dedent(f"""
        import sys
        from metadata_server.engine.drivers import LocalDriver
        driver = LocalDriver({str(state)!r}, agent_argv={AGENT!r}, grace={grace})
        if {server_id!r}:
            driver.create("server", "vm", {WATCH!r}, physical_id={server_id!r})
        print("ready", flush=True)
        sys.stdin.read()
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    return process


@pytest.fixture
def node(tmp_path):
    drivers = []

    def make(grace: float = 60.0, store=None, **options) -> LocalDriver:
        driver = LocalDriver(tmp_path / "cloud", agent_argv=AGENT, grace=grace, store=store,
                             **options)
        drivers.append(driver)
        return driver
    yield make
    for driver in drivers:
        driver.close()
        driver.servers.stop_all()


def test_an_agent_outlives_the_worker_that_started_it(tmp_path, node):
    """A worker (or node) that creates a server and exits, cleanly or killed, leaves its
    agent to the other nodes, which keep it alive past the grace; one that starts later
    adopts it rather than starting another."""
    grace = 1.0
    node(grace)   # a node that lives on (a sibling worker), started before any server
    root = tmp_path / "cloud" / "servers" / "vm-1"
    worker = _node_process(tmp_path / "cloud", grace, "vm-1")
    agent = _started(root)
    worker.stdin.close()          # the worker exits normally: atexit, driver close
    assert worker.wait(LOADED) == 0
    worker = _node_process(tmp_path / "cloud", grace, "vm-2")
    other = _started(tmp_path / "cloud" / "servers" / "vm-2")
    worker.kill()                 # and one SIGKILLed
    worker.wait()
    gone = time.time()
    lease = tmp_path / "cloud" / "nodes.lease"
    until(lambda: lease.stat().st_mtime > gone + 3 * grace, LOADED, "three graces of lease")
    assert _running(agent) and _running(other)
    later = node(grace)           # a node started afterwards adopts both
    assert _agents(root) == [agent]
    assert later.show("server", "vm-1")["name"] == "vm"   # the records are shared too
    later.delete("server", "vm-1")
    assert not _running(agent) and not root.exists()
    assert _running(other)


def test_a_server_whose_keeper_died_is_started_again_by_the_next_sweep(tmp_path, node):
    driver = node()
    driver.create("server", "vm", WATCH, physical_id="vm-1")
    root = tmp_path / "cloud" / "servers" / "vm-1"
    agent = _started(root)
    keeper = _record(root)["pid"]
    os.kill(keeper, signal.SIGKILL)
    # the agent dies with its keeper (PR_SET_PDEATHSIG), not orphaned
    until(lambda: not _running(agent), LOADED, "the agent to end with its keeper")
    until(lambda: not keeper_alive(root), LOADED, "the keeper's lock to be free")
    driver.servers.sweep()
    again = until(lambda: len(_agents(root)) == 2 and _agents(root)[-1], LOADED,
                  "the agent to start again")
    assert _record(root)["pid"] != keeper and _running(again)


def test_with_no_node_alive_the_agent_stops_within_the_grace(tmp_path):
    grace = 2.0
    node = _node_process(tmp_path / "cloud", grace, "vm-1")
    root = tmp_path / "cloud" / "servers" / "vm-1"
    agent = _started(root)
    keeper = psutil.Process(_record(root)["pid"])
    node.kill()                  # the only node is gone: nothing renews the lease
    node.wait()
    killed = time.monotonic()
    keeper.wait(grace + LOADED)
    assert time.monotonic() - killed >= grace - 1.0   # the lease was last touched <= 0.5 s before
    assert not _running(agent)
    assert "no node touched nodes.lease for 2 s" in (root / "keeper.log").read_text()
    assert (root / "etc" / "os-collect-config.conf").exists()   # the server is not deleted


def test_a_node_adopts_on_start_what_no_node_kept(tmp_path, node):
    """After every node is gone and the agents stopped themselves, the next node to start
    boots the servers still recorded again from their roots."""
    first = _node_process(tmp_path / "cloud", 1.0, "vm-1")
    root = tmp_path / "cloud" / "servers" / "vm-1"
    agent = _started(root)
    first.kill()
    first.wait()
    until(lambda: not keeper_alive(root), LOADED, "the agent to stop without a node")
    assert not _running(agent)
    node()
    until(lambda: len(_agents(root)) == 2, LOADED, "the agent to be booted again")


def test_a_server_gone_from_the_database_has_its_agent_stopped(tmp_path, node, store, clock):
    from metadata_server.service import servers
    servers.register_server(store, clock, "t", {"id": "vm-1", "name": "vm"})
    servers.register_server(store, clock, "t", {"id": "vm-2", "name": "vm"})
    driver = node(store=store)
    driver.create("server", "vm", WATCH, physical_id="vm-1")
    driver.create("server", "vm", WATCH, physical_id="vm-2")
    gone, kept = (tmp_path / "cloud" / "servers" / n for n in ("vm-1", "vm-2"))
    agent, other = _started(gone), _started(kept)
    servers.delete_server(store, clock, "t", "vm-1")   # e.g. deleted through another node
    driver.servers.sweep()
    assert not _running(agent) and not gone.exists()
    assert _running(other)


def test_a_database_that_cannot_answer_stops_nothing(tmp_path, node):
    class Down:
        def get_server(self, server_id, tenant=None):
            raise OSError("connection refused")
    driver = node(store=Down())
    driver.create("server", "vm", WATCH, physical_id="vm-1")
    agent = _started(tmp_path / "cloud" / "servers" / "vm-1")
    driver.servers.sweep()
    assert _running(agent)


def test_the_suites_clean_up_kills_every_recorded_agent(tmp_path):
    node = _node_process(tmp_path / "cloud", 60.0, "vm-1")
    root = tmp_path / "cloud" / "servers" / "vm-1"
    agent = _started(root)
    keeper = _record(root)["pid"]
    try:
        assert kill_all_under(tmp_path) == 1
        until(lambda: not _running(agent) and not _running(keeper), LOADED, "both to die")
    finally:
        node.kill()
        node.wait()


def test_records_are_shared_by_the_processes_of_one_directory(tmp_path, node):
    """Gunicorn workers each have a driver: what one records, the others see and keep."""
    one, two = node(), node()
    a, _ = one.create("net", "a", {})
    b, _ = two.create("net", "b", {})
    assert a != b
    assert one.show("net", b) is not None and two.show("net", a) is not None
    two.delete("net", a)
    assert one.show("net", a) is None
    on_disk = json.loads((tmp_path / "cloud" / "local-cloud.json").read_text())
    assert set(on_disk["objects"]) == {b}


def test_servers_with_an_agent_are_bounded_per_directory(tmp_path, node):
    """Each is two processes: one past the bound fails with a clear error, other objects and
    servers without collector settings are records and do not count."""
    from metadata_server.engine.drivers import CloudError
    one, two = node(max_servers=1), node(max_servers=1)   # two workers, one bound
    one.create("server", "vm", WATCH, physical_id="vm-1")
    with pytest.raises(CloudError, match=r"at most 1 servers with an agent \(1 run here\); "
                                         r"delete one, or raise --local-max-servers"):
        two.create("server", "vm", WATCH, physical_id="vm-2")
    assert two.show("server", "vm-2") is None
    two.create("server", "plain", {})
    two.create("net", "n", {})
    one.delete("server", "vm-1")
    two.create("server", "vm", WATCH, physical_id="vm-2")
    _started(tmp_path / "cloud" / "servers" / "vm-2")


def test_a_root_left_without_its_record_is_swept_away(tmp_path, node):
    """A node killed between making a server's root and recording it leaves a root that
    counts against the bound; the next sweep removes it."""
    driver = node()
    stray = tmp_path / "cloud" / "servers" / "stray"
    stray.mkdir(parents=True)
    driver.servers.sweep()
    assert not stray.exists()


def test_the_agent_configuration_is_readable_by_its_owner_only(tmp_path, node):
    node().create("server", "vm", WATCH, physical_id="vm-1")
    conf = tmp_path / "cloud" / "servers" / "vm-1" / "etc" / "os-collect-config.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert "auth_token = secret-token" in conf.read_text()


FAILING = '''
from pathlib import Path

import pytest
from metadata_server.engine.drivers import LocalDriver

AGENT = {agent!r}
WATCH = {watch!r}


def _start(directory, out):
    driver = LocalDriver(directory, agent_argv=AGENT)
    driver.create("server", "vm", WATCH, physical_id="vm-1")
    import json, time
    record = directory / "servers" / "vm-1" / "keeper.json"
    while not record.exists() or json.loads(record.read_text())["agent_pid"] is None:
        time.sleep(0.05)
    out.write_text(record.read_text())


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return tmp_path_factory.mktemp("shared")


def test_fails_with_its_own_server(tmp_path):
    _start(tmp_path / "cloud", Path({own!r}))
    assert False, "fails on purpose"


def test_fails_with_a_module_scoped_server(shared):
    import json, psutil
    # the failed test before this one has had its keeper and agent killed (SIGKILL: gone
    # as soon as the kernel gets to them)
    for pid in json.loads(Path({own!r}).read_text()).values():
        if isinstance(pid, int) and psutil.pid_exists(pid):
            try:
                psutil.Process(pid).wait(5)
            except psutil.TimeoutExpired:
                raise AssertionError("left running") from None
    _start(shared / "cloud", Path({module!r}))
    assert False, "fails on purpose"
'''


def test_a_failing_test_leaves_no_agent_running(tmp_path):
    """The suite's hooks (tests/conftest.py) in a pytest run of their own, whose tests start
    local servers and fail: a test's own are gone before the next test starts, a module's
    when the run is over."""
    own, module = tmp_path / "own.json", tmp_path / "module.json"
    case = tmp_path / "test_failing_case.py"
    case.write_text(FAILING.format(agent=AGENT, watch=WATCH, own=str(own), module=str(module)))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "inner"), "--rootdir", str(tmp_path), str(case)],
        cwd=REPO, capture_output=True, text=True, timeout=LOADED * 2)
    # counted on the traceback's "E" lines: whether the short summary repeats the message
    # depends on how long the temporary path is against the terminal's width
    failures = re.findall(r"^E\s+AssertionError: fails on purpose$", run.stdout, re.MULTILINE)
    assert "2 failed" in run.stdout and len(failures) == 2, run.stdout + run.stderr
    for record in (own, module):
        started = json.loads(record.read_text())
        for pid in (started["pid"], started["agent_pid"]):
            assert not _running(pid), f"{record.name}: {pid} still runs"


def _keeper_process(root: Path, agent_argv: list[str]) -> subprocess.Popen:
    lease = root / "lease"
    lease.write_text("30\n")
    return subprocess.Popen(
        [sys.executable, "-m", "metadata_server.engine.drivers.local_keeper", "--root",
         str(root), "--lease", str(lease), "--grace", "30", "--restart-after", "0.1", "--",
         *agent_argv], cwd=REPO, stderr=subprocess.PIPE, text=True)


def test_the_keeper_starts_an_agent_that_exits_again(tmp_path):
    exits = AGENT[:2] + [AGENT[2].replace("while True:\n    time.sleep(1)", "")]
    assert exits != AGENT
    keeper = _keeper_process(tmp_path, exits)
    try:
        until(lambda: len(_agents(tmp_path)) >= 3, LOADED, "three starts of the agent")
    finally:
        keeper.terminate()
    assert keeper.wait(LOADED) == 0
    assert "agent stopped: asked to stop (SIGTERM)" in keeper.stderr.read()


def test_an_agent_that_cannot_start_is_said_once_and_tried_again(tmp_path):
    keeper = _keeper_process(tmp_path, [str(tmp_path / "no-such-agent")])
    try:
        until(lambda: (tmp_path / "keeper.json").exists(), LOADED, "the keeper to start")
        # a failed try leaves no trace but its one line: give it time for a few (one a second)
        time.sleep(2.5)
        assert keeper.poll() is None and _record(tmp_path)["agent_pid"] is None
        (tmp_path / "no-such-agent").write_text("#!/bin/sh\necho $$ >> \"$2/starts\"\n")
        (tmp_path / "no-such-agent").chmod(0o700)
        until(lambda: _agents(tmp_path), LOADED, "the agent to start once it exists")
    finally:
        keeper.terminate()
    said = keeper.stderr.read()
    keeper.wait(LOADED)
    assert said.count("cannot start the agent: [Errno 2] No such file or directory") == 1
