"""The Jinja2 sandbox `*.j2` templates render in, with limits on what one render may build.

Jinja2's sandbox keeps a template away from Python's internals but not from memory or time:
`{{ 'a' * 10**10 }}` asks for 10 GB, `{{ 10 ** 10 ** 10 }}` never finishes. Here each operation
that can make a big value from a small one is checked before it runs (`*`, `**`, `+`, `%`, `~`,
str methods and filters that pad, repeat or format, `range`), and whatever a render produces is
charged to a budget for that render:

- MAX_VALUE: the size of any one value made by the template: a string's characters, or a
  sequence's items counted through its nested sequences and strings; the rendered file too;
- MAX_RENDER: the total size of the values one render makes (so a loop cannot add up many
  values each under MAX_VALUE);
- MAX_ITERATIONS: the items of all `range()`s in one render;
- MAX_INT_BITS: the size of an integer made by `**`;
- MAX_INT_DIGITS: the digits of a string turned into an integer (Python 3.11's default limit;
  older Pythons convert in quadratic time).

A template over a limit fails with TemplateLimitError, which the renderer reports with the
template's file and line.
"""
from __future__ import annotations

import functools
import math
import re
import string
import threading
from typing import Any, Callable

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

MAX_VALUE = 16 * 1024 * 1024
MAX_RENDER = 64 * 1024 * 1024
MAX_ITERATIONS = 1_000_000
MAX_INT_BITS = 64 * 1024
MAX_INT_DIGITS = 4300

_DIGITS = re.compile(r"\d+")
# a %-conversion's width and precision (or `*`); `%%` is matched first so it is skipped whole
_PERCENT_SPEC = re.compile(r"%%|%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


class TemplateLimitError(SecurityError):
    """A template asked for more than a limit allows; the message names the limit."""


class Budget:
    """What one render has used so far."""

    def __init__(self) -> None:
        self.made = 0
        self.iterations = 0

    def charge(self, size: int, what: str) -> None:
        if size > MAX_VALUE:
            raise TemplateLimitError(f"{what} would make a value of {size} characters or items; "
                                     f"the limit is {MAX_VALUE} (MAX_VALUE)")
        self.made += size
        if self.made > MAX_RENDER:
            raise TemplateLimitError(f"{what}: the render has made {self.made} characters or items "
                                     f"in all; the limit is {MAX_RENDER} (MAX_RENDER)")

    def iterate(self, count: int, what: str) -> None:
        self.iterations += count
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitError(f"{what}: the render would iterate over {self.iterations} items "
                                     f"in all; the limit is {MAX_ITERATIONS} (MAX_ITERATIONS)")


_current = threading.local()


def budget() -> Budget:
    """This thread's render budget (a throwaway one outside `rendering`)."""
    return getattr(_current, "budget", None) or Budget()


class rendering:
    """`with rendering():` gives the renders inside it one fresh budget."""

    def __enter__(self) -> Budget:
        self.previous = getattr(_current, "budget", None)
        _current.budget = Budget()
        return _current.budget

    def __exit__(self, *exc: object) -> None:
        _current.budget = self.previous


def size_of(value: Any, limit: int = MAX_VALUE) -> int:
    """A value's size: a string's length; for a sequence or mapping, one per item plus the sizes of
    the strings and sequences in it, however deep. Counting stops soon after `limit`, so the cost
    is at most about the size it allows."""
    if isinstance(value, (str, bytes)):
        return len(value)
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
            continue
        if isinstance(item, dict):
            members = [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            members = item
        else:
            continue
        total += len(members)
        stack.extend(m for m in members if isinstance(m, (str, bytes, list, tuple, dict, set, frozenset)))
    return total


def _width(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_format(fmt: Any, args: Any, what: str) -> None:
    """Refuse a %-format or str.format whose widths or precisions, written in the format or taken
    from the arguments (`%*d`, `{0:{1}}`), would pad a value past MAX_VALUE."""
    if not isinstance(fmt, str):
        return
    specs, from_args = [], False
    if what.startswith("str.format"):
        for _literal, _field, spec, _conversion in string.Formatter().parse(fmt):
            specs.append(spec or "")
            from_args = from_args or "{" in (spec or "")
    else:
        for match in _PERCENT_SPEC.finditer(fmt):
            specs.extend(g for g in match.groups() if g)
            from_args = from_args or "*" in match.groups()
    widest = max((_number(d) for spec in specs for d in _DIGITS.findall(spec)), default=0)
    if from_args:
        values = tuple(args.values()) if isinstance(args, dict) else \
            tuple(args) if isinstance(args, (tuple, list)) else (args,)
        widest = max([widest] + [_width(v) for v in values])
    if widest > MAX_VALUE:
        raise TemplateLimitError(f"{what} with a width or precision of {widest}; "
                                 f"the limit is {MAX_VALUE} (MAX_VALUE)")


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 12 else 10 ** 12


def _checked_int(value: Any, what: str) -> None:
    if isinstance(value, str) and len(value.strip()) > MAX_INT_DIGITS:
        raise TemplateLimitError(f"{what} of a {len(value.strip())}-character string; the limit is "
                                 f"{MAX_INT_DIGITS} digits (MAX_INT_DIGITS)")


# -- operators

def _binop(op: str, left: Any, right: Any) -> Any:
    what = f"'{op}'"
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
                budget().charge(size_of(seq) * max(times, 0), what)
        return left * right
    if op == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            bits = right * math.log2(abs(left))
            if bits > MAX_INT_BITS:
                raise TemplateLimitError(f"'**' would make an integer of about {bits:.0f} bits; "
                                         f"the limit is {MAX_INT_BITS} (MAX_INT_BITS)")
        return left ** right
    if op == "+":
        if isinstance(left, (str, bytes, list, tuple)) and type(left) is type(right):
            budget().charge(size_of(left) + size_of(right), what)
        return left + right
    if op == "%":
        _check_format(left, right, what)
        result = left % right
        if isinstance(result, str):
            budget().charge(len(result), what)
        return result
    raise AssertionError(op)


# -- str methods and filters

def _before_str_method(obj: Any, args: tuple, kwargs: dict) -> None:
    """Refuse a str method call whose result would be too big, before it is made."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    text = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    if not isinstance(text, str):
        return
    what = f"str.{name}()"
    if name in ("center", "ljust", "rjust", "zfill") and args:
        budget().charge(max(len(text), _width(args[0])), what)
    elif name == "expandtabs":
        tab = _width(args[0] if args else kwargs.get("tabsize", 8))
        budget().charge(len(text) + text.count("\t") * tab, what)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        budget().charge(_replaced_size(text, args[0], args[1], args[2] if len(args) > 2 else -1), what)
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        budget().charge(size_of(args[0]) + len(text) * max(len(args[0]) - 1, 0), what)
    elif name in ("format", "format_map"):
        _check_format(text, args[0] if name == "format_map" and args else args + tuple(kwargs.values()), what)


def _replaced_size(text: str, old: str, new: str, count: Any) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _check_center(value: Any, width: Any = 80, *rest: Any, **kw: Any) -> None:
    budget().charge(max(len(str(value)), _width(width)), "filter center")


def _check_indent(value: Any, width: Any = 4, *rest: Any, **kw: Any) -> None:
    text = str(value)
    pad = len(width) if isinstance(width, str) else _width(width)
    budget().charge(len(text) + (text.count("\n") + 1) * pad, "filter indent")


def _check_format_filter(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_format(value, args or kwargs, "filter format (%)")


def _check_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        budget().charge(_replaced_size(value, old, new, -1 if count is None else count), "filter replace")


def _check_join(value: Any, d: Any = "", *rest: Any, **kw: Any) -> None:
    if isinstance(value, (list, tuple)):
        budget().charge(size_of(value) + len(str(d)) * max(len(value) - 1, 0), "filter join")


def _check_slice(value: Any, slices: Any = 1, *rest: Any, **kw: Any) -> None:
    budget().iterate(_width(slices), "filter slice")


def _check_batch(value: Any, linecount: Any = 1, fill_with: Any = None, *rest: Any, **kw: Any) -> None:
    if fill_with is not None:
        budget().iterate(_width(linecount), "filter batch")


def _check_sum(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if not (isinstance(start, (list, tuple)) and isinstance(iterable, (list, tuple))):
        return
    # adding sequences one by one copies the growing result each time: quadratic
    total = len(start) + sum(len(item) for item in iterable if isinstance(item, (list, tuple)))
    copies = total * len(iterable) // 2
    if copies > MAX_RENDER:
        raise TemplateLimitError(f"filter sum would copy about {copies} items to add up {len(iterable)} "
                                 f"sequences; the limit is {MAX_RENDER} (MAX_RENDER)")
    budget().charge(total, "filter sum")


def _check_int(value: Any, *rest: Any, **kw: Any) -> None:
    _checked_int(value, "filter int")


# filter name -> a check called with the filter's own arguments (value first) before it runs
FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "format": _check_format_filter,
    "replace": _check_replace,
    "join": _check_join,
    "slice": _check_slice,
    "batch": _check_batch,
    "sum": _check_sum,
    "int": _check_int,
}


def _checked_filter(check: Callable[..., None], filter_func: Callable[..., Any]) -> Callable[..., Any]:
    # A filter marked pass_context / pass_eval_context / pass_environment gets that first; the
    # check wants the filter's own arguments.
    skip = 1 if getattr(filter_func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(filter_func)  # keeps that mark, so Jinja2 still passes it
    def run(*args: Any, **kwargs: Any) -> Any:
        check(*args[skip:], **kwargs)
        return filter_func(*args, **kwargs)
    return run


def _range(*args: int) -> range:
    numbers = range(*args)
    budget().iterate(len(numbers), "range()")
    return numbers


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    budget().charge(_width(n) * _width(max) * 12, "lipsum()")  # a word and its space: under 12
    return generate_lorem_ipsum(n, html, min, max)


# -- `~` and every joined output (the file, {% set %} blocks, {% filter %} blocks, macros)

def _limited_concat(parts: Any) -> str:
    kept, size = [], 0
    for part in parts:
        size += len(part)
        if size > MAX_VALUE:
            raise TemplateLimitError(f"the output would be over {MAX_VALUE} characters (MAX_VALUE)")
        kept.append(part)
    budget().charge(size, "output")
    return "".join(kept)


class _LimitedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # `a ~ b` compiles to str_join((a, b)) from jinja2.runtime; route it through the limit
        self.write("environment.concat(map(str, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _LimitedCodeGenerator
    concat = staticmethod(_limited_concat)

    def __init__(self, **options: Any):
        super().__init__(**options)
        for name, check in FILTER_CHECKS.items():
            self.filters[name] = _checked_filter(check, self.filters[name])
        self.globals.update(range=_range, lipsum=_lipsum)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        return _binop(op, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _before_str_method(__obj, args, kwargs)
        if __obj is int and args:
            _checked_int(args[0], "int()")
        return super().call(__context, __obj, *args, **kwargs)
