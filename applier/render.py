"""Render the whole tree into memory: every template and control file checked, nothing written.

A broken template stops the run before the first write, so the system stays as it was; the error
names the template (and line). All problems are collected so one run reports every one of them.
"""
from __future__ import annotations

import os

from applier import control, renderers
from applier.errors import ApplyError
from applier.plan import Rendered
from applier.templates import TemplateFile


def render_tree(templates: list[TemplateFile], context: dict, output_root: str) -> list[Rendered]:
    rendered: list[Rendered] = []
    problems: list[str] = []
    for template in templates:
        try:
            ctrl = control.load(template.control_path) if template.control_path else control.DEFAULT
            body = renderers.render(template, context).encode("utf-8")
        except ApplyError as e:
            problems.append(str(e))
            continue
        rendered.append(Rendered(template.path, os.path.join(output_root, template.target), body, ctrl))
    if problems:
        count = f"{len(problems)} template(s) failed; no file was written"
        raise ApplyError("\n".join(problems + [count]))
    return rendered
