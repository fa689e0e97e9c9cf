"""if (a parse-time macro) and the condition functions equals, not, and, or."""
from __future__ import annotations

from typing import Any

from .base import NULL, ArgError, Function, Scope, parse


class If(Function):
    """Only the chosen branch is parsed: the other is neither validated nor a dependency."""

    @classmethod
    def build(cls, name: str, raw_args: Any, path: tuple, scope: Scope) -> Any:
        sizes = (2, 3) if scope.features.two_arg_if else (3,)
        if not isinstance(raw_args, list) or len(raw_args) not in sizes:
            form = ("[condition, value_if_true(, value_if_false)]" if scope.features.two_arg_if
                    else "[condition_name, value_if_true, value_if_false]")
            raise scope.error(f'Arguments to "{name}" must be of the form: {form}',
                              path + (name,), "ValueError", key=True)
        if scope.condition is None:
            raise scope.error(f'The function "{name}" is invalid in this context',
                              path + (name,), key=True)
        chosen = scope.condition(raw_args[0], path + (name, 0))
        if chosen:
            return parse(raw_args[1], scope, path + (name, 1))
        if len(raw_args) == 2:
            return NULL
        return parse(raw_args[2], scope, path + (name, 2))


def truth(r, item: Any, path: tuple) -> bool:
    """A condition operand: a bool, a condition name, or a condition function."""
    if isinstance(item, bool):
        return item
    if isinstance(item, str):
        return r.binding.conditions.evaluate_name(item, path)
    if isinstance(item, Function):
        value = r.resolve(item)
        if isinstance(value, bool):
            return value
        raise ArgError(f"The condition value should be boolean, not {value!r}", "ValueError")
    raise ArgError(f"Invalid condition operand {item!r}: use a condition name, a boolean or a "
                   "condition function", "ValueError")


class Equals(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "equals" must be of the form: '
                                    "[value_1, value_2]", "ValueError")

    def result(self, r):
        a, b = r.resolve(self.args)
        return a == b


class Not(Function):
    def result(self, r):
        return not truth(r, self.args, self.path + (self.name,))


class And(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) < 2:
            raise self.error(scope, f'Arguments to "{self.name}" must be of the form: '
                                    "[condition_1, condition_2, ...]", "ValueError")

    def result(self, r):
        return all(truth(r, item, self.path + (self.name, i))
                   for i, item in enumerate(self.args))


class Or(And):
    def result(self, r):
        return any(truth(r, item, self.path + (self.name, i))
                   for i, item in enumerate(self.args))
