"""One registry of template renderers; a template's kind decides which one renders it.

- executable: any executable file; runs with the metadata as JSON on stdin, stdout is the file;
- jinja2: `*.j2`, a sandboxed environment where a missing name is an error;
- mustache: everything else, rendered as os-apply-config renders it.
Each renderer takes the template file, the context and the template's text (None for an executable)
and returns the file's text, or raises ApplyError naming the template (and line where there is one).
"""
from __future__ import annotations

import json
import os
import stat

from applier import log, mustache
from applier.errors import ApplyError
from applier.templates import JINJA_SUFFIX, TemplateFile


def kind_of(path: str) -> str:
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return "executable"
    if path.endswith(JINJA_SUFFIX):
        return "jinja2"
    return "mustache"


def render(template: TemplateFile, context: dict) -> str:
    source = _source(template.path)
    if source is None:
        return render_executable(template, context, None)
    kind = "jinja2" if template.path.endswith(JINJA_SUFFIX) else "mustache"
    return RENDERERS[kind](template, context, source)


def _source(path: str) -> str | None:
    """The template's text, or None for an executable template.

    One open and one fstat answer both questions for nearly every template (the same answer as
    kind_of's isfile + access: a file without any execute bit is executable for nobody, root
    included); os.access is asked only when an execute bit is set. Newlines are read as Python's
    text mode reads them (upstream reads templates that way): \r\n and \r become \n.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if kind_of(path) == "executable":  # e.g. mode 0711: runnable, not readable
            return None
        raise ApplyError(f"{path}: cannot read template: {e}") from None
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o111 and stat.S_ISREG(st.st_mode) and os.access(path, os.X_OK):
            return None
        chunks = []
        while True:
            # The whole file in one read, and a second to see the end (a file that grew is read on).
            chunk = os.read(fd, st.st_size + 1 if st.st_size else 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as e:
        raise ApplyError(f"{path}: cannot read template: {e}") from None
    finally:
        os.close(fd)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApplyError(f"{path}: cannot read template: {e}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def render_mustache(template: TemplateFile, context: dict, source: str) -> str:
    try:
        parsed = mustache.parse(source)
    except mustache.MustacheError as e:
        raise ApplyError(f"{template.path}:{e.line}: could not render moustache template: "
                         f"{str(e).split(': ', 1)[1]}") from None
    for warning in parsed.warnings:
        log.warning("%s: %s", template.path, warning)
    return parsed.render(context)


def render_executable(template: TemplateFile, context: dict, source: None = None) -> str:
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

        from applier.jinja_sandbox import LimitedSandbox

        _jinja_env = LimitedSandbox(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return _jinja_env


def render_jinja2(template: TemplateFile, context: dict, source: str) -> str:
    import jinja2

    from applier.jinja_sandbox import TemplateLimitError, rendering

    env = _jinja()
    try:
        with rendering():
            code = env.compile(source, name=template.relative, filename=template.path)
            return env.template_class.from_code(env, code, env.make_globals(None), None).render(context)
    except jinja2.TemplateSyntaxError as e:
        raise ApplyError(f"{template.path}:{e.lineno}: template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise ApplyError(f"{_where(e, template.path)}: missing key: {e.message}") from None
    except TemplateLimitError as e:
        raise ApplyError(f"{_where(e, template.path)}: template over a limit: {e}") from None
    except RecursionError:
        raise ApplyError(f"{template.path}: template recursion too deep (a macro that calls itself?)") from None
    except MemoryError:
        raise ApplyError(f"{template.path}: out of memory rendering the template") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise ApplyError(f"{_where(e, template.path)}: {type(e).__name__}: {e}") from None


def _where(error: BaseException, path: str) -> str:
    line = _template_line(error, path)
    return f"{path}:{line}" if line else path


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
