"""Every limit has a `stoker server` option, a default, and its row in docs/operations.md."""
from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

from metadata_server.engine.limits import Limits, add_options, from_options, option

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented() -> dict[str, str]:
    """option -> default, from the Limits section's table."""
    text = OPERATIONS.read_text()
    section = text[text.index("\n## Limits\n"):]
    section = section[:section.index("\n## ", 1)]
    return dict(re.findall(r"^\| `(--[a-z-]+)` \| (\d+) \|", section, re.M))


def test_each_limit_has_an_option_a_default_and_a_doc_row():
    parser = argparse.ArgumentParser()
    add_options(parser)
    defaults = parser.parse_args([])
    rows = documented()
    for f in fields(Limits):
        assert getattr(defaults, f.name) == f.default
        assert rows.get(option(f.name)) == str(f.default), (f.name, rows.get(option(f.name)))
    assert set(rows) == {option(f.name) for f in fields(Limits)}
    assert from_options(parser.parse_args(["--max-nested-depth", "2"])).max_nested_depth == 2
