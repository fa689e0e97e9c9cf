"""The Jinja2 sandbox's budget is per render: each template of a tree gets the whole of it.

The limits themselves are a table in tests/abuse/test_agent_template_limits.py.
"""
from applier.jinja_sandbox import MAX_ITERATIONS, size_of
from applier.render import render_tree
from applier.templates import TemplateFile


def test_each_template_gets_a_fresh_budget(tmp_path):
    most = MAX_ITERATIONS * 6 // 10  # two of these in one render would be over the limit
    templates = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.j2"
        path.write_text(f"{{{{ range({most})|list|length }}}}")
        templates.append(TemplateFile(str(path), f"{name}.j2", name, None))
    rendered = render_tree(templates, {}, str(tmp_path / "out"))
    assert [r.body for r in rendered] == [str(most).encode()] * 2


def test_size_counts_items_and_the_strings_in_them():
    assert size_of("abc") == 3
    assert size_of([1, 2]) == 2
    assert size_of([[]] * 5) == 5
    assert size_of(["ab", ("c", {"k": "vv"})]) == 2 + 2 + 2 + 1 + 2 + 1 + 2
