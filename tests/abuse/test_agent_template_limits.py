"""An os-apply-config template cannot make the agent allocate without bound or spin for ever.

One case per file in fixtures/agent_templates/: a Jinja2 template whose first line says what must
happen, `{# expect: FRAGMENT -#}` (os-apply-config exits 1, names the template and says FRAGMENT,
no traceback, no file written) or `{# renders: TEXT -#}` / `{# renders-length: N ... -#}` (it
renders). Each runs the real `os-apply-config` in a child capped at 1 GiB of address space, so a
limit that stopped working fails here with an out-of-memory error instead of taking the machine.
"""
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "fixtures" / "agent_templates"
HEADER = re.compile(r"\{# (expect|renders|renders-length): (.*?) -#\}\n")
MEMORY_CAP = 1 << 30


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.j2")))
def test_agent_template_limit(case, tmp_path):
    source = (CASES / f"{case}.j2").read_text(encoding="utf-8")
    kind, expected = HEADER.match(source).groups()
    template = tmp_path / "tpl" / "etc" / f"{case}.j2"
    template.parent.mkdir(parents=True)
    template.write_text(source, encoding="utf-8")
    (tmp_path / "md.json").write_text(json.dumps({"name": "value"}))
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "applier.cli", "-t", str(tmp_path / "tpl"), "-o", str(out),
         "-m", str(tmp_path / "md.json")],
        capture_output=True, text=True, timeout=80, preexec_fn=_cap_memory,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert "Traceback" not in done.stderr, done.stderr
    written = out / "etc" / case
    if kind == "expect":
        assert done.returncode == 1, done.stderr
        assert f"{template}:" in done.stderr
        assert expected in done.stderr
        assert not written.exists()
        return
    assert done.returncode == 0, done.stderr
    text = written.read_text(encoding="utf-8").removesuffix("\n")
    if kind == "renders":
        assert text == expected
    else:
        assert len(text) == int(expected.split()[0])
