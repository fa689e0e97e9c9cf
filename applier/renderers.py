"""One registry of template renderers; a template's kind decides which one renders it.

- executable: any executable file; runs with the metadata as JSON on stdin, stdout is the file;
- jinja2: `*.j2`, a sandboxed environment where a missing name is an error;
- mustache: everything else, rendered as os-apply-config renders it.
Each renderer takes the template file and the context and returns the file's text, or raises
ApplyError naming the template (and line where there is one).
"""
from __future__ import annotations

import json
import logging
import os

from applier import mustache
from applier.errors import ApplyError
from applier.templates import JINJA_SUFFIX, TemplateFile

log = logging.getLogger("os-apply-config")


def kind_of(path: str) -> str:
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return "executable"
    if path.endswith(JINJA_SUFFIX):
        return "jinja2"
    return "mustache"


def render(template: TemplateFile, context: dict) -> str:
    return RENDERERS[kind_of(template.path)](template, context)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ApplyError(f"{path}: cannot read template: {e}") from None


def render_mustache(template: TemplateFile, context: dict) -> str:
    try:
        parsed = mustache.parse(_read(template.path))
    except mustache.MustacheError as e:
        raise ApplyError(f"{template.path}:{e.line}: could not render moustache template: "
                         f"{str(e).split(': ', 1)[1]}") from None
    for warning in parsed.warnings:
        log.warning("%s: %s", template.path, warning)
    return parsed.render(context)


def render_executable(template: TemplateFile, context: dict) -> str:
    import subprocess  # on first use, like Jinja2: most trees have no executable template

    try:
        done = subprocess.run([template.path], input=json.dumps(context).encode("utf-8"),
                              capture_output=True, check=False)
    except OSError as e:
        raise ApplyError(f"{template.path}: config script could not start: {e.strerror}") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
        raise ApplyError(f"{template.path}: config script failed with exit status "
                         f"{done.returncode}" + (f"; output:\n{output}" if output else ""))
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApplyError(f"{template.path}: config script output is not UTF-8: {e}") from None


_jinja_env = None


def _jinja():
    global _jinja_env
    if _jinja_env is None:
        # Imported on first use: trees without .j2 templates never pay for Jinja2.
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _jinja_env = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return _jinja_env


def render_jinja2(template: TemplateFile, context: dict) -> str:
    import jinja2

    env = _jinja()
    source = _read(template.path)
    try:
        code = env.compile(source, name=template.relative, filename=template.path)
        return env.template_class.from_code(env, code, env.make_globals(None), None).render(context)
    except jinja2.TemplateSyntaxError as e:
        raise ApplyError(f"{template.path}:{e.lineno}: template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        line = _template_line(e, template.path)
        where = f"{template.path}:{line}" if line else template.path
        raise ApplyError(f"{where}: missing key: {e.message}") from None
    except jinja2.TemplateError as e:
        line = _template_line(e, template.path)
        where = f"{template.path}:{line}" if line else template.path
        raise ApplyError(f"{where}: {type(e).__name__}: {e}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as e:
        line = _template_line(e, template.path)
        where = f"{template.path}:{line}" if line else template.path
        raise ApplyError(f"{where}: {type(e).__name__}: {e}") from None


def _template_line(error: BaseException, path: str) -> int | None:
    # Jinja2 maps template frames onto the template file, so the last such frame has the line.
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


RENDERERS = {
    "executable": render_executable,
    "jinja2": render_jinja2,
    "mustache": render_mustache,
}
