"""How big a function's result is, and the checks that keep a result from outgrowing the limits.

Size is the characters of every string plus one per item, key and scalar: roughly the result's
JSON length, counted as if shared parts (a parameter used twice) were written out twice, as they
are once stored. Functions that multiply their input (repeat, list_join, str_replace, ...) work
out the size of what they would make before making it; the resolver measures every other result
after the fact, which is enough for functions whose result is no bigger than their arguments.
"""
from __future__ import annotations

from typing import Any

from metadata_server.engine.limits import Limits, named

from .arg_error import ArgError


def measure(value: Any, cap: int) -> int:
    """The size of `value`, counting no further than just past `cap`."""
    total, stack = 0, [value]
    while stack and total <= cap:
        item = stack.pop()
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def check_size(limits: Limits, name: str, size: int) -> None:
    if size > limits.max_function_result_size:
        raise ArgError(f'The result of "{name}" would be larger than the limit '
                       f"({named(limits, 'max_function_result_size')})", "RequestLimitExceeded")


def check_iterations(limits: Limits, name: str, count: int, what: str = "items") -> None:
    if count > limits.max_function_iterations:
        raise ArgError(f'"{name}" would make {count} {what}, more than the limit '
                       f"({named(limits, 'max_function_iterations')})", "RequestLimitExceeded")


def section_too_big(limits: Limits, what: str) -> str | None:
    """The message for a resolved section (a resource's properties or metadata, an output's
    value) larger than a function result may be: plain lists and maps of references
    (`[{get_attr: [big, value]}, ...]` thousands of times) multiply what they refer to without
    any function growing."""
    return (f"The resolved {what} would be larger than the limit "
            f"({named(limits, 'max_function_result_size')})")


def check_result(limits: Limits, name: str, value: Any) -> None:
    check_size(limits, name, measure(value, limits.max_function_result_size))
