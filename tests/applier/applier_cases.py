"""Loads the applier's fixture cases and runs one against a given os-apply-config command.

A case (tests/applier/fixtures/cases/<name>.json) lays out metadata files, a template tree and
files already in the output dir, runs the command with its args, and states what must come out:
exit status, stdout, stderr fragments, and the exact set of files under the output dir (text,
and optionally mode/uid/gid). `{md}`, `{tpl}`, `{out}` in strings stand for the case's dirs.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.placeholders import fill

CASES_DIR = Path(__file__).parent / "fixtures" / "cases"
REPO = Path(__file__).resolve().parents[2]


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES_DIR.glob("*.json"))


def load(name: str) -> dict:
    return json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    files: dict[str, dict]   # relative path -> {"text", "mode", "uid", "gid"}


def skip_unless_possible(case: dict) -> None:
    import pytest

    if case.get("needs_root") and os.geteuid() != 0:
        pytest.skip("the case changes file owners: needs root")


def lay_out(case: dict, root: Path) -> dict[str, str]:
    dirs = {"md": str(root / "md"), "tpl": str(root / "tpl"), "out": str(root / "out")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for name, content in case.get("metadata", {}).items():
        text = content["raw"] if isinstance(content, dict) and set(content) == {"raw"} else json.dumps(fill(content, dirs))
        (root / "md" / name).write_text(text, encoding="utf-8")
    for rel, spec in case.get("templates", {}).items():
        spec = {"text": spec} if isinstance(spec, str) else spec
        path = root / "tpl" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec["text"], encoding="utf-8")
        path.chmod(0o755 if spec.get("executable") else 0o644)
        if "oac" in spec:
            Path(str(path) + ".oac").write_text(spec["oac"], encoding="utf-8")
    for rel, spec in case.get("existing", {}).items():
        path = root / "out" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec["text"], encoding="utf-8")
        path.chmod(int(spec.get("mode", "0644"), 8))
    return dirs


def run(case: dict, root: Path, command: list[str]) -> Outcome:
    dirs = lay_out(case, root)
    args = [] if case.get("no_default_args") else ["-t", dirs["tpl"], "-o", dirs["out"]]
    args += fill(case.get("args", []), dirs)
    if "--fallback-metadata" not in args:
        args += ["--fallback-metadata"]  # never read this machine's real fallback files
    env = {k: v for k, v in os.environ.items()
           if k not in ("OS_CONFIG_FILES", "OS_CONFIG_FILES_PATH", "OS_CONFIG_APPLIER_TEMPLATES")}
    env["PYTHONPATH"] = str(REPO)
    env["OS_CONFIG_FILES_PATH"] = str(root / "md" / "no-such-list.json")
    env.update(fill(case.get("env", {}), dirs))
    done = subprocess.run(command + args, env=env, capture_output=True, text=True, timeout=60, cwd=root)
    return Outcome(done.returncode, done.stdout, done.stderr, snapshot(Path(dirs["out"])))


def snapshot(out: Path) -> dict[str, dict]:
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            st = path.stat()
            files[str(path.relative_to(out))] = {
                "text": path.read_text(encoding="utf-8"), "mode": f"{st.st_mode & 0o7777:04o}",
                "uid": st.st_uid, "gid": st.st_gid}
    return files


def check(case: dict, outcome: Outcome, root: Path) -> None:
    dirs = {"md": str(root / "md"), "tpl": str(root / "tpl"), "out": str(root / "out")}
    expect = fill(case["expect"], dirs)
    context = f"rc={outcome.rc}\nstdout={outcome.stdout!r}\nstderr={outcome.stderr}"
    assert outcome.rc == expect["rc"], context
    assert "Traceback" not in outcome.stderr, context
    if "stdout" in expect:
        assert outcome.stdout == expect["stdout"], context
    for fragment in expect.get("stderr_has", []):
        assert fragment in outcome.stderr, f"{fragment!r} not in stderr\n{context}"
    if "files" in expect:
        assert set(outcome.files) == set(expect["files"]), context
        for rel, want in expect["files"].items():
            want = {"text": want} if isinstance(want, str) else want
            for key, value in want.items():
                assert outcome.files[rel][key] == value, f"{rel}.{key}\n{context}"
