"""stoker's os-apply-config next to upstream's (installed from PyPI at test time) on the same inputs.

Every fixture case marked `"upstream": true` is run by both; exit status, stdout and the files
written (content, mode, owner) must be the same. Then a few thousand generated mustache
templates are rendered by both renderers and must give the same text (or both fail).
"""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

import applier_cases
import applier_upstream

from applier import mustache

SHARED = [n for n in applier_cases.case_names() if applier_cases.load(n).get("upstream")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SHARED)
def test_same_result_as_upstream(name, tmp_path, upstream_oac):
    case = applier_cases.load(name)
    applier_cases.skip_unless_possible(case)
    ours = applier_cases.run(case, tmp_path / "stoker", applier_upstream.stoker_command())
    theirs = applier_cases.run(case, tmp_path / "upstream", upstream_oac)
    ours_out = ours.stdout.replace(str(tmp_path / "stoker"), "ROOT")
    theirs_out = theirs.stdout.replace(str(tmp_path / "upstream"), "ROOT")
    assert (ours.rc, ours_out) == (theirs.rc, theirs_out), f"upstream stderr:\n{theirs.stderr}"
    assert ours.files == theirs.files


NAMES = ["a", "b", "l", "d", "n", "t", "f", "s", "e", "z", "missing", "d.x", "d.y.z", ".", "l.0", "ld", "ld.k", "k"]
CONTEXT = {"a": 1, "b": "two<&>", "l": [1, "x", None, {"k": "v"}], "d": {"x": "dx", "y": {"z": 0}}, "n": None,
           "t": True, "f": False, "s": "", "e": [], "z": 0, "k": "outer",
           "ld": [{"k": 1}, {"k": "\u00e9"}, {"j": 2}]}


def _tag(r: random.Random) -> str:
    kind = r.choice(["", "", "&", "{", "#", "^", "!", ">", "#", "="])
    if kind == "=":
        return r.choice(["{{=<% %>=}}", "{{= | | =}}", "<%={{ }}=%>", "{{=[ ]=}}"])
    name, pad = r.choice(NAMES), r.choice(["", " ", "  "])
    if kind == "{":
        return "{{{" + pad + name + pad + "}}}"
    return "{{" + kind + pad + name + pad + "}}"


def generated_template(r: random.Random) -> str:
    parts, open_names = [], []
    for _ in range(r.randint(1, 14)):
        c = r.random()
        if c < 0.35:
            parts.append(r.choice(["x", " ", "\n", "  ", "\t", "\r\n", "y\n", "{", "}", "{{", "}}"]))
        elif c < 0.55 and open_names:
            parts.append("{{/" + open_names.pop() + "}}")
        elif c < 0.7:
            name = r.choice(NAMES)
            open_names.append(name)
            parts.append("{{" + r.choice("#^") + name + "}}")
        else:
            parts.append(_tag(r))
    if r.random() < 0.8:
        while open_names:
            parts.append(r.choice(["", "\n", " "]) + "{{/" + open_names.pop() + "}}")
    return "".join(parts)


@pytest.mark.timeout(300)
def test_generated_templates_render_like_pystache(upstream_oac_python):
    r = random.Random(20261122)
    cases = [[generated_template(r), CONTEXT] for _ in range(3000)]
    done = subprocess.run([upstream_oac_python, "-c", applier_upstream.RENDER_SCRIPT],
                          input=json.dumps(cases), capture_output=True, text=True, timeout=120, check=True)
    theirs = json.loads(done.stdout)
    mismatches = []
    for (text, ctx), (status, output) in zip(cases, theirs):
        try:
            ours = ("ok", mustache.render(text, ctx))
        except mustache.MustacheError:
            ours = ("error", None)
        if ours[0] != status or (status == "ok" and ours[1] != output):
            mismatches.append((text, (status, output), ours))
    assert sum(1 for s, _ in theirs if s == "ok") > 1500  # the corpus exercises rendering, not just errors
    assert not mismatches, mismatches[:5]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("tree", ["templates", "chown_templates"])
def test_upstreams_own_test_trees_render_the_same(tree, tmp_path, upstream_oac, upstream_oac_python):
    # The template trees upstream ships with its unit tests, taken from the installed package at
    # test time (never committed): mustache, an executable template and .oac control files.
    import shutil
    from pathlib import Path

    found = subprocess.run([upstream_oac_python, "-c", "import os_apply_config, os; "
                            "print(os.path.dirname(os_apply_config.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    source = Path(found) / "tests" / tree
    if tree == "chown_templates" and __import__("os").geteuid() != 0:
        pytest.skip("chown_templates sets owner root: needs root")
    if not source.is_dir():
        pytest.skip(f"upstream's package has no tests/{tree}")
    metadata = tmp_path / "md.json"
    metadata.write_text(json.dumps({"database": {"url": "sqlite:///blah"}, "x": "foo"}))
    outcomes = []
    for name, command in (("stoker", applier_upstream.stoker_command()), ("upstream", upstream_oac)):
        templates = tmp_path / name / "tpl"
        shutil.copytree(source, templates)
        out = tmp_path / name / "out"
        done = subprocess.run(command + ["-t", str(templates), "-o", str(out), "-m", str(metadata),
                                         "--fallback-metadata"],
                              capture_output=True, text=True, timeout=60,
                              env={**__import__("os").environ, "PYTHONPATH": str(applier_cases.REPO)})
        outcomes.append((done.returncode, applier_cases.snapshot(out)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 0 and outcomes[0][1]
