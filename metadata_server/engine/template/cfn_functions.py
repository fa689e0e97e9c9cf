"""The CloudFormation format's functions: Heat's tables for 2010-09-09 and 2012-12-12.

Most CFN functions already exist for HOT 2013-05-23 (Ref, Fn::Join, Fn::Select, ...) and are
reused as they are; this module adds the ones only the CFN format has (Fn::GetAtt's strict
two-item form, Fn::FindInMap, Fn::If, the Fn:: condition functions) and the tables.
"""
from __future__ import annotations

from .functions import Function, Scope
from .functions.arg_error import ArgError
from .functions.collections import GetAZs, MemberListToMap, Select
from .functions.logic import And, Equals, If, Or, truth
from .functions.params import FnResourceFacade, Ref
from .functions.resources import GetAttr
from .functions.strings import FnBase64, FnJoin, FnReplace, FnSplit


class FnGetAtt(GetAttr):
    """Exactly [resource, attribute]: no attribute path as in HOT."""

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::GetAtt" must be of the form '
                                    "[resource_name, attribute]", "ValueError")
        super().validate(scope)


class FnFindInMap(Function):
    """Mappings[map][key][value]; a missing key fails when the value is resolved (as Heat)."""

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) != 3:
            raise self.error(scope, 'Arguments to "Fn::FindInMap" must be of the form '
                                    "[map_name, key, value]", "ValueError")

    def result(self, r):
        name, key, value = r.resolve(self.args)
        mappings = r.binding.template.raw.get("Mappings") or {}
        for part in (name, key, value):
            if isinstance(part, (dict, list)):
                raise ArgError(f'"Fn::FindInMap" keys must be strings, not {part!r}',
                               "TypeError")
        try:
            return mappings[name][key][value]
        except (KeyError, TypeError):
            missing = next((part for part, seen in ((name, mappings), (key, mappings.get(name)),
                                                    (value, (mappings.get(name) or {}).get(key)))
                            if not isinstance(seen, dict) or part not in seen), value)
            raise ArgError(f"'{missing}' is not in Mappings ({name} / {key} / {value})",
                           "KeyError") from None


class FnIf(If):
    """`if` with the CFN name in its messages (three arguments, as HOT before 2021-04-16)."""


class FnEquals(Equals):
    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::Equals" must be of the form: '
                                    "[value_1, value_2]", "ValueError")


class FnNot(Function):
    """Fn::Not takes a list of exactly one condition."""

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) != 1:
            raise self.error(scope, 'Arguments to "Fn::Not" must be of the form: [condition]',
                             "ValueError")

    def result(self, r):
        return not truth(r, self.args[0], self.path + (self.name, 0))


class ConditionRef(Ref):
    """Ref inside Conditions: parameters (and pseudo parameters) only."""

    def result(self, r):
        if r.binding.has_param(self.args) or self.args in r.binding.template.parameters:
            return r.binding.param(self.args)
        raise ArgError(f'The specified reference "{self.args}" is not a parameter: a '
                       "condition can only refer to parameters", "InvalidTemplateReference")

    def references(self):
        return iter(())


FUNCTIONS: dict[str, type[Function]] = {
    "Ref": Ref, "Fn::GetAtt": FnGetAtt, "Fn::Select": Select, "Fn::Join": FnJoin,
    "Fn::Split": FnSplit, "Fn::Replace": FnReplace, "Fn::Base64": FnBase64,
    "Fn::FindInMap": FnFindInMap, "Fn::GetAZs": GetAZs, "Fn::MemberListToMap": MemberListToMap,
    "Fn::ResourceFacade": FnResourceFacade,
}
CONDITION_FUNCTIONS: dict[str, type[Function]] = {
    "Fn::Equals": FnEquals, "Fn::Not": FnNot, "Fn::And": And, "Fn::Or": Or,
    "Ref": ConditionRef, "Fn::FindInMap": FnFindInMap,
}


def tables(conditions: bool) -> tuple[dict, set, dict]:
    """(function table, removed names, condition-function table); Fn::If and the condition
    functions exist only where the format has Conditions (AWSTemplateFormatVersion)."""
    if not conditions:
        return dict(FUNCTIONS), set(), {}
    return {**FUNCTIONS, "Fn::If": FnIf}, set(), dict(CONDITION_FUNCTIONS)


def function_names(conditions: bool) -> list[str]:
    table, _, condition_table = tables(conditions)
    return sorted(set(table) | set(condition_table))


__all__ = ["tables", "function_names", "FnGetAtt", "FnFindInMap", "FnIf"]
