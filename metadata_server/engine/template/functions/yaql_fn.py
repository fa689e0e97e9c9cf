"""yaql: available only when the `yaql` library is installed (extra `yaql`)."""
from __future__ import annotations

from typing import Any

from .base import ArgError, Function

from metadata_server.engine.limits import DEFAULT, Limits

_engines: dict[tuple[int, int], Any] = {}   # one parser per (limit_iterators, memory_quota)


def _yaql_engine(limits: Limits = DEFAULT):
    key = (limits.yaql_limit_iterators, limits.yaql_memory_quota)
    if key not in _engines:
        try:
            # yaql's utils use collections.abc without importing it; load it first
            import collections.abc  # noqa: F401
            import yaql  # noqa: F401
            from yaql import factory
        except ImportError:
            return None
        _engines[key] = factory.YaqlFactory().create(options={
            "yaql.limitIterators": key[0], "yaql.memoryQuota": key[1],
            "yaql.convertInputData": True, "yaql.convertOutputData": True})
    return _engines[key]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in value]
    return value


class Yaql(Function):
    def validate(self, scope):
        if not isinstance(self.args, dict) or "expression" not in self.args \
                or "data" not in self.args:
            raise self.error(scope, 'Arguments to "yaql" must be a map with "expression" and '
                                    '"data"', "KeyError")
        engine = _yaql_engine()
        if engine is None:
            raise self.error(scope, 'The function "yaql" needs the yaql library '
                                    "(pip install 'stoker[yaql]')", "NotSupported")
        expression = self.args["expression"]
        if isinstance(expression, str):
            try:
                self._parsed = engine(expression)
            except Exception as exc:   # yaql raises its own parse error classes
                raise self.error(scope, f"Bad expression {exc}", "ValueError") from None
        elif not isinstance(expression, Function):
            raise self.error(scope, "The yaql expression must be a string", "TypeError")

    def result(self, r):
        import collections.abc  # noqa: F401
        import yaql

        expression = r.resolve(self.args["expression"])
        data = r.resolve(self.args["data"])
        if not isinstance(expression, str):
            raise ArgError("The yaql expression must be a string", "TypeError")
        try:
            parsed = _yaql_engine(r.limits)(expression)
            return _plain(parsed.evaluate(context=yaql.create_context(data={"data": data})))
        except Exception as exc:   # evaluation errors of any kind become a template error
            raise ArgError(f"Bad expression {exc}", "ValueError") from None
