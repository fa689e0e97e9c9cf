"""The output options, cliff's (one fixture per case in fixtures/output/): headers, -c in both
spellings, -f table|json|yaml|value|csv, --noindent, --max-width, --sort-column, --quote."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli.operator.common import connection_parent
from cli.operator.errors import USAGE, CliError
from cli.operator.output import Options, format_listing, format_record, header

HERE = Path(__file__).parent / "fixtures" / "output"
CASES = sorted(p for p in HERE.glob("*.yaml") if not p.name.startswith("_"))
ROWS = yaml.safe_load((HERE / "_rows.yaml").read_text())


def _render(spec: dict) -> str:
    args = connection_parent().parse_args(spec["argv"])
    opts = Options.from_args(args)
    if spec.get("listing"):
        return format_listing(ROWS["rows"], ROWS["columns"], opts=opts)
    return format_record(spec["record"], opts=opts)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_output(case, monkeypatch):
    monkeypatch.delenv("CLIFF_MAX_TERM_WIDTH", raising=False)
    monkeypatch.delenv("CLIFF_FIT_WIDTH", raising=False)
    spec = yaml.safe_load(case.read_text())
    if "error" in spec:
        with pytest.raises(CliError) as caught:
            _render(spec)
        assert caught.value.code == USAGE and caught.value.message == spec["error"]
        return
    assert _render(spec) == spec["expected"].rstrip("\n")


@pytest.mark.parametrize("key, title", [("id", "ID"), ("stack_name", "Stack Name"),
                                         ("physical_resource_id", "Physical Resource ID"),
                                         ("output_key", "Output Key")])
def test_headers(key, title):
    assert header(key) == title


def test_the_environment_sets_the_width(monkeypatch):
    monkeypatch.setenv("CLIFF_MAX_TERM_WIDTH", "40")
    opts = Options.from_args(connection_parent().parse_args([]))
    assert opts.max_width == 40
    monkeypatch.setenv("CLIFF_MAX_TERM_WIDTH", "junk")
    monkeypatch.setenv("CLIFF_FIT_WIDTH", "1")
    monkeypatch.setenv("COLUMNS", "61")
    assert Options.from_args(connection_parent().parse_args([])).max_width == 61
