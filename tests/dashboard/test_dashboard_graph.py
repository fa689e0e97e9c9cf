"""The resource graph's layout and markup (pure), and error positions in uploaded text."""
from __future__ import annotations

from metadata_server.dashboard import graph_svg
from metadata_server.dashboard.positions import locate


def test_a_resource_sits_one_column_past_its_deepest_dependency():
    depth = graph_svg.layers(["a", "b", "c", "d"], {"c": ["a", "b"], "b": ["a"], "d": ["zz"]})
    assert depth == {"a": 0, "b": 1, "c": 2, "d": 0}


def test_a_cycle_is_cut_not_followed():
    assert set(graph_svg.layers(["a", "b"], {"a": ["b"], "b": ["a"]})) == {"a", "b"}


def test_every_node_says_its_status_in_words_and_names_are_escaped():
    svg = str(graph_svg.render(
        [{"name": "x<y>", "type": "T", "status": "CREATE_FAILED", "reason": "a & b"},
         {"name": "ok", "type": "T", "status": "UPDATE_IN_PROGRESS"}], {"x<y>": ["ok"]}))
    assert "x&lt;y&gt;" in svg and "x<y>" not in svg and "a &amp; b" in svg
    assert '<g class="node failed"' in svg and "\u2716 CREATE_FAILED" in svg
    assert '<g class="node busy"' in svg and "\u21bb UPDATE_IN_PROGRESS" in svg
    assert svg.count('class="edge"') == 1


def test_no_resources_is_said_in_words():
    assert "no resources yet" in str(graph_svg.render([], {}))


def test_positions_pick_the_right_text_and_stay_inside_it():
    texts = {"template": "a: 1\nb: 2\nc: 3\n", "environment": "x: 1\n"}
    found = locate("template:2:4: b: bad", texts)
    assert found.source == "template" and found.line == 2 and found.column == 4
    assert [n for n, _, bad in found.lines if bad] == [2]
    assert locate("environment:1:1: x: bad", texts).source == "environment"
    assert locate("template:4:1: unclosed", texts).lines[-1] == (4, "", True)
    assert locate("template:99:1: far", texts) is None
    assert locate("no position here", texts) is None
