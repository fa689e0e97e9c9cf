"""The `conditions` section: evaluated once per binding, cached, cycles named."""
from __future__ import annotations

from typing import Any, Callable

from .errors import TemplateError, did_you_mean
from .functions import Function, Resolver, Scope, parse


class Conditions:
    """Evaluates condition names and inline condition expressions to booleans."""

    def __init__(self, definitions: dict[str, Any], scope: Scope, resolver: Resolver,
                 error: Callable[..., TemplateError]):
        self.definitions = definitions
        self.scope = scope            # condition-function table
        self.resolver = resolver      # static resolver (parameters only)
        self.error = error
        self.values: dict[str, bool] = {}
        self._evaluating: list[str] = []

    def evaluate_all(self) -> dict[str, bool]:
        for name in self.definitions:
            self.evaluate_name(name, ("conditions", name))
        return dict(self.values)

    def evaluate_name(self, name: Any, path: tuple) -> bool:
        if not isinstance(name, str) or name not in self.definitions:
            raise self.error(f'Invalid condition "{name}"' + did_you_mean(name, self.definitions),
                             path, "StackValidationFailed")
        if name in self.values:
            return self.values[name]
        if name in self._evaluating:
            cycle = " -> ".join(self._evaluating[self._evaluating.index(name):] + [name])
            raise self.error(f'Circular definition for condition "{name}" ({cycle})',
                             ("conditions", name), "StackValidationFailed")
        definition = self.definitions[name]
        where = ("conditions", name)
        if not isinstance(definition, (bool, dict)):
            raise self.error(f'The definition of condition "{name}" is invalid: it must be a '
                             "boolean or a condition function (equals, not, and, or, ...), "
                             f"not {definition!r}", where)
        self._evaluating.append(name)
        try:
            value = self._evaluate(definition, where, name)
        finally:
            self._evaluating.pop()
        self.values[name] = value
        return value

    def evaluate(self, expression: Any, path: tuple) -> bool:
        """A `condition:` field or the first argument of `if`: a name, a bool, an expression."""
        if isinstance(expression, bool):
            return expression
        if isinstance(expression, str):
            return self.evaluate_name(expression, path)
        return self._evaluate(expression, path, None)

    def _evaluate(self, expression: Any, path: tuple, name: str | None) -> bool:
        if isinstance(expression, bool):
            return expression
        parsed = parse(expression, self.scope, path)
        if not isinstance(parsed, Function):
            label = f'condition "{name}"' if name else "the condition"
            raise self.error(f"The definition of {label} is invalid: {expression!r} is not a "
                             "boolean or a condition function", path)
        value = self.resolver.resolve(parsed)
        if not isinstance(value, bool):
            label = f'condition "{name}"' if name else "the condition"
            raise self.error(f"The definition of {label} is invalid: it resolves to {value!r}, "
                             "not a boolean", path)
        return value
