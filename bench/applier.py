"""Render a tree of 1,000 templates with stoker's os-apply-config and with upstream's, in one run.

Builds a template tree (mustache templates with variables, dotted names, sections over lists and
dicts, inverted sections; a tenth of them with a `.oac` control file) and one metadata file, installs
upstream os-apply-config from PyPI into a temp venv (or uses --upstream-python), then alternates
whole command-line runs of both, each round:
  - a fresh run into an empty output dir (every file is written), and
  - a second, unchanged run over that output (upstream rewrites every file; stoker should write none).
It checks that both produce byte-identical trees, that stoker's unchanged run left every file's
inode and mtime alone, and reports medians and ratios (goal: stoker at least 3x faster).

Each tool runs from a venv of its own, as installed on a guest: upstream's from PyPI, stoker's a
bare venv holding a compiled copy of this checkout's applier package, with a .pth naming the
running interpreter's site-packages (for PyYAML and Jinja2). That keeps the development venv's
editable-install finder (~10 ms per interpreter start) and compiling from source (when
PYTHONDONTWRITEBYTECODE is set, ~10 ms) out of stoker's figures; upstream's venv has its .pyc
files too. --stoker-python runs stoker from this checkout with a given interpreter instead.
Before every timed run the bench calls sync(), so that neither tool pays for the other's (or the
setup's) dirty pages when it flushes; every fresh run writes into a new directory.

    .venv/bin/python bench/applier.py [--templates 1000] [--rounds 5] [--upstream-python PATH]
                                      [--stoker-python PATH] [--dir DIR] [--phases N]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = "os-apply-config==14.1.0"
# Upstream's main() without its root-only /var/log/os-apply-config.log handler.
WRAPPER = ("import logging, sys\nlogging.FileHandler = lambda *a, **k: logging.NullHandler()\n"
           "from os_apply_config.apply_config import main\nsys.exit(main(['os-apply-config'] + sys.argv[1:]))\n")


def build_tree(root: Path, count: int) -> Path:
    r = random.Random(1000)
    services = {f"svc{i}": {"port": 8000 + i, "host": f"10.0.{i // 250}.{i % 250}", "debug": i % 3 == 0,
                            "workers": [{"name": f"w{j}", "threads": j + 1} for j in range(4)],
                            "db": {"url": f"mysql://u{i}:p@db/s{i}", "pool": {"size": 5, "overflow": None}}}
                for i in range(100)}
    metadata = {"services": services, "region": "r1", "deployments": [{"id": str(i), "name": f"d{i}"} for i in range(20)],
                "empty": [], "flag": True}
    (root / "metadata.json").write_text(json.dumps(metadata))
    tpl = root / "templates"
    for n in range(count):
        svc = f"svc{n % 100}"
        path = tpl / "etc" / f"dir{n // 50:02d}" / f"file{n:04d}.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = [f"# generated {n}", "[DEFAULT]", "region = {{region}}",
                f"{{{{#services.{svc}}}}}", "port = {{port}}", "host = {{host}}", "debug = {{debug}}",
                "db = {{db.url}}", "pool = {{db.pool.size}}/{{db.pool.overflow}}",
                "{{#workers}}", "worker {{name}} threads={{threads}}", "{{/workers}}", f"{{{{/services.{svc}}}}}",
                "{{^empty}}no extras{{/empty}}", "{{#flag}}flag on{{/flag}}", f"missing={{{{nope.{r.randint(0, 9)}}}}}"]
        body += [f"line{k} = {{{{services.{svc}.port}}}}-{k}" for k in range(10)]
        path.write_text("\n".join(body) + "\n")
        if n % 10 == 0:
            Path(str(path) + ".oac").write_text("mode: 0640\n")
    return tpl


def install_upstream(directory: Path) -> str:
    target = directory / "upstream-oac"
    venv.EnvBuilder(with_pip=True).create(target)
    python = str(target / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", UPSTREAM],
                   check=True, timeout=300)
    return python


def install_stoker(directory: Path) -> str:
    """A bare venv holding this checkout's applier package and the stoker_common it imports, compiled,
    as `pip install` leaves them."""
    target = directory / "stoker-venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    packages = ("applier", "stoker_common")
    for package in packages:
        shutil.copytree(REPO / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    # pip compiles what it installs (upstream's venv has its .pyc files); without them every run
    # would compile the packages again (PYTHONDONTWRITEBYTECODE may be set in the environment).
    subprocess.run([python, "-m", "compileall", "-q", *(str(site / p) for p in packages)], check=True)
    # PyYAML and Jinja2 (imported only on use) from the interpreter running the bench.
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "stoker-deps.pth").write_text("\n".join(paths) + "\n")
    return python


# One fresh run of stoker's pipeline, in-process, with a perf counter around each step (the same
# calls cli._run makes; writer.apply split into its steps). Prints one JSON object of milliseconds.
PHASES = """
import json, os, sys, time
t = time.perf_counter
start = t()
from applier import cli, flush, metadata, templates, writer
from applier.plan import observe, plan
from applier.render import render_tree
ms = {"import": t() - start}
def step(name, fn):
    began = t(); value = fn(); ms[name] = t() - began; return value
tpl, md, out = sys.argv[1:4]
context = step("metadata", lambda: metadata.load([md], []))
tree = step("discover", lambda: templates.discover(tpl))
rendered = step("render (read, .oac, parse, render)", lambda: render_tree(tree, context, out))
current = step("observe targets", lambda: {r.target: observe(r.target) for r in rendered})
actions = step("plan", lambda: plan(rendered, current))
writes = [a for a in actions if a.kind == "write"]
directories = list(dict.fromkeys(os.path.dirname(a.path) for a in writes))
batch = step("open flush batch", lambda: flush.Batch(directories, len(writes)))
staged = step("stage temp files", lambda: writer._stage(writes))
step("flush temp files", lambda: batch.files([tmp for _, tmp in staged]))
step("rename", lambda: [os.replace(tmp, a.path) for a, tmp in staged])
step("flush directories", lambda: batch.directories(directories))
batch.close()
print(json.dumps({k: v * 1000 for k, v in ms.items()}))
"""


def phases(python: str, tpl: Path, md: str, work: Path, runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    for n in range(runs):
        os.sync()
        done = subprocess.run([python, "-c", PHASES, str(tpl), md, str(work / f"phases-{n}")],
                              capture_output=True, text=True, check=True)
        for name, value in json.loads(done.stdout).items():
            samples.setdefault(name, []).append(value)
    return {name: statistics.median(values) for name, values in samples.items()}


def timed(argv: list[str]) -> tuple[float, float, float]:
    """(wall, user CPU, system CPU) seconds of one command run. User CPU is the tool's own work
    and the least sensitive to other load; system CPU is mostly the filesystem creating
    directories and files, which both tools ask for alike and whose price on ext4 here rises
    run after run; wall time also includes waiting for the disk."""
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{done.stderr[-2000:]}")
    return seconds, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def snapshot(out: Path) -> dict[str, tuple[int, int, bytes, int]]:
    result = {}
    for path in out.rglob("*"):
        if path.is_file():
            st = path.stat()
            result[str(path.relative_to(out))] = (st.st_ino, st.st_mtime_ns, path.read_bytes(), st.st_mode & 0o777)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--upstream-python", help="python of an existing venv with os-apply-config installed")
    parser.add_argument("--stoker-python", help="run stoker with this interpreter (default: a bare venv)")
    parser.add_argument("--phases", type=int, default=5, metavar="N",
                        help="also time the steps of N fresh stoker runs in-process (0: skip)")
    parser.add_argument("--dir", help="where to build the tree and write (default: the system temp dir); "
                                      "creating a file costs very different times on different filesystems")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-applier-", dir=opts.dir))
    try:
        tpl = build_tree(work, opts.templates)
        md = str(work / "metadata.json")
        upstream_python = opts.upstream_python or install_upstream(work)
        (work / "wrapper.py").write_text(WRAPPER)
        # Every command runs from the work dir: `-m` and `-c` put the current directory first on
        # sys.path, and run from a checkout they would import its sources instead of the install.
        os.chdir(work)
        stoker = [opts.stoker_python or install_stoker(work), "-m", "applier.cli"]
        upstream = [upstream_python, str(work / "wrapper.py")]
        if opts.stoker_python:
            os.environ["PYTHONPATH"] = str(REPO)
        times: dict[str, list[tuple[float, float, float]]] = {
            k: [] for k in ("stoker fresh", "upstream fresh", "stoker unchanged", "upstream unchanged")}
        for round_no in range(opts.rounds):
            for name, argv in (("stoker", stoker), ("upstream", upstream)):
                # A directory never used before: creating files where 1,000 were just deleted
                # costs ext4 here 2-3x more per file, which no first boot pays.
                out = work / f"out-{name}-{round_no}"
                args = argv + ["-t", str(tpl), "-o", str(out), "-m", md, "--fallback-metadata"]
                times[f"{name} fresh"].append(timed(args))
                before = snapshot(out)
                times[f"{name} unchanged"].append(timed(args))
                after = snapshot(out)
                if name == "stoker":
                    rewritten = [p for p in before if before[p][:2] != after[p][:2]]
                    if rewritten:
                        raise SystemExit(f"stoker rewrote {len(rewritten)} unchanged file(s), e.g. {rewritten[0]}")
            ours, theirs = snapshot(work / f"out-stoker-{round_no}"), snapshot(work / f"out-upstream-{round_no}")
            if {p: v[2:] for p, v in ours.items()} != {p: v[2:] for p, v in theirs.items()}:
                raise SystemExit("stoker and upstream rendered different trees")
        wall, user, system = ({k: statistics.median(t[i] for t in v) for k, v in times.items()}
                              for i in range(3))
        print(f"{opts.templates} templates, {opts.rounds} rounds, whole command-line runs, medians "
              f"(load average {os.getloadavg()[0]:.1f}; in {work.parent})")
        print(f"  {'':<20} {'wall s':>8} {'user s':>8} {'sys s':>8}")
        for key in times:
            print(f"  {key:<20} {wall[key]:8.3f} {user[key]:8.3f} {system[key]:8.3f}")
        fresh = wall["upstream fresh"] / wall["stoker fresh"]
        unchanged = wall["upstream unchanged"] / wall["stoker unchanged"]
        print(f"  ratio fresh (upstream/stoker)      wall {fresh:5.2f}x   user CPU "
              f"{user['upstream fresh'] / user['stoker fresh']:5.2f}x")
        print(f"  ratio unchanged (upstream/stoker)  wall {unchanged:5.2f}x   user CPU "
              f"{user['upstream unchanged'] / user['stoker unchanged']:5.2f}x")
        if opts.phases:
            print(f"  stoker fresh run, step by step (in-process, median of {opts.phases}):")
            for name, value in phases(stoker[0], tpl, md, work, opts.phases).items():
                print(f"    {name:<36} {value:6.1f} ms")
        print(f"  identical output trees: yes; stoker's unchanged run wrote 0 of {len(ours)} files "
              f"(upstream rewrites all {len(theirs)})")
        verdict = {(True, True): "met", (False, True): "met for unchanged runs only",
                   (True, False): "met for fresh runs only", (False, False): "NOT met"}[(fresh >= 3, unchanged >= 3)]
        print(f"  goal stoker >= 3x faster (wall): {verdict}")
        return 0
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
