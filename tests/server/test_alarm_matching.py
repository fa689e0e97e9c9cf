"""Which servers an alarm's query matches, as a table (fixtures/alarm_matching.json): each case
is a threshold query (Heat's terms from matching_metadata) or a Gnocchi search, read against one
server, and whether it matches; the refused ones say what is wrong with them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from metadata_server.service.alarm_matching import gnocchi_search, threshold_query
from metadata_server.service.errors import InvalidInput

TABLE = json.loads((Path(__file__).parent / "fixtures" / "alarm_matching.json").read_text())
READERS = {"threshold": threshold_query, "gnocchi": gnocchi_search}


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: f"{c['kind']}-{c['why']}")
def test_query_matches_the_server_or_not(case):
    assert READERS[case["kind"]](case["query"])(TABLE["server"]) is case["matches"], case["why"]


@pytest.mark.parametrize("case", TABLE["refused"], ids=lambda c: c["says"])
def test_a_bad_query_is_refused_saying_why(case):
    with pytest.raises(InvalidInput) as caught:
        READERS[case["kind"]](case["query"])
    assert case["says"] in caught.value.message
