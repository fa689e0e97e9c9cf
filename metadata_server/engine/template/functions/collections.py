"""Functions over lists and maps: Fn::Select, map_merge, map_replace, list_concat(_unique),
filter, contains, repeat (and CFN Fn::MemberListToMap, Fn::GetAZs)."""
from __future__ import annotations

import itertools
import json
import reprlib
from typing import Any

from .base import ArgError, Function
from .sizes import check_iterations, check_size, measure


def _short(value: Any) -> str:
    """An argument in an error message: a big one is not copied into it."""
    return reprlib.repr(value)


class Select(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::Select" must be [index, collection]')

    def result(self, r):
        index, collection = r.resolve(self.args)
        if collection in ("", None):
            return ""
        if isinstance(collection, str):
            try:
                collection = json.loads(collection)
            except ValueError:
                raise ArgError('"Fn::Select" collection string is not JSON', "ValueError") \
                    from None
        if isinstance(collection, dict):
            if not isinstance(index, str):
                raise ArgError('"Fn::Select" index into a map must be a string', "TypeError")
            return collection.get(index, "")
        if isinstance(collection, list):
            try:
                index = int(index)
            except (TypeError, ValueError):
                raise ArgError('"Fn::Select" index into a list must be an integer',
                               "TypeError") from None
            return collection[index] if 0 <= index < len(collection) else ""
        raise ArgError('"Fn::Select" collection must be a list or a map', "TypeError")


class MapMerge(Function):
    def validate(self, scope):
        if not isinstance(self.args, (list, Function)):
            raise self.error(scope, 'Incorrect arguments: "map_merge" takes a list of maps',
                             "TypeError")

    def result(self, r):
        maps = r.resolve(self.args)
        if not isinstance(maps, list):
            raise ArgError('Incorrect arguments: "map_merge" takes a list of maps', "TypeError")
        out: dict = {}
        for item in maps:
            if item is None:
                continue
            if not isinstance(item, dict):
                raise ArgError("Incorrect arguments: Items to merge must be maps. "
                               f"{_short(item)} is type {type(item)} instead of a dict",
                               "TypeError")
            out.update(item)
        return out


class MapReplace(Function):
    EXAMPLE = ('Incorrect arguments to "map_replace" should be: "map_replace" : '
               '[ { "key1": "val1" }, {"keys": {"key1": "key2"}, "values": {"val1": "val2"}}]')

    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, self.EXAMPLE, "ValueError")

    def result(self, r):
        source, spec = r.resolve(self.args)
        if not isinstance(source, dict) or not isinstance(spec, dict):
            raise ArgError(self.EXAMPLE, "TypeError")
        if set(spec) - {"keys", "values"}:
            raise ArgError(self.EXAMPLE, "ValueError")
        keys = spec.get("keys") or {}
        values = spec.get("values") or {}
        if not isinstance(keys, dict) or not isinstance(values, dict):
            raise ArgError(self.EXAMPLE, "TypeError")
        out: dict = {}
        for key, value in source.items():
            new_key = keys.get(key)
            if new_key is not None and new_key != key:
                if new_key in source:
                    raise ArgError(f"key replacement {new_key} collides with a key in the "
                                   "input map", "ValueError")
                if new_key in out:
                    raise ArgError(f"key replacement {new_key} collides with a key in the "
                                   "output map", "ValueError")
                key = new_key
            elif key in out:
                raise ArgError(f"key replacement {key} collides with a key in the output map",
                               "ValueError")
            try:
                if value in values:
                    value = values[value]
            except TypeError:
                pass   # unhashable values are never replaced
            out[key] = value
        return out


class ListConcat(Function):
    def validate(self, scope):
        if not isinstance(self.args, (list, Function)):
            raise self.error(scope, f'Incorrect arguments to "{self.name}": a list of lists',
                             "TypeError")

    def result(self, r):
        lists = r.resolve(self.args)
        if not isinstance(lists, list):
            raise ArgError(f'Incorrect arguments to "{self.name}": a list of lists', "TypeError")
        out: list = []
        for item in lists:
            if item is None:
                continue
            if not isinstance(item, list):
                raise ArgError('Incorrect arguments: Items to concat must be lists. '
                               f"{_short(item)} is {type(item).__name__}", "TypeError")
        check_size(r.limits, self.name, sum(len(item) for item in lists if item))
        for item in lists:
            out.extend(item or [])
        return self.finish(out)

    def finish(self, items: list) -> list:
        return items


class ListConcatUnique(ListConcat):
    def finish(self, items):
        unique: list = []
        for item in items:
            if item not in unique:
                unique.append(item)
        return unique


class Filter(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Incorrect arguments to "filter" should be: '
                                    '{"filter": [values, list]}', "ValueError")

    def result(self, r):
        sequence = r.resolve(self.args[1])
        if not sequence:
            return sequence
        if not isinstance(sequence, list):
            raise ArgError('"filter" only works with lists', "TypeError")
        values = r.resolve(self.args[0])
        if not values:
            return sequence
        if not isinstance(values, list):
            raise ArgError('"filter" filters a list of values', "TypeError")
        return [item for item in sequence if item not in values]


class Contains(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Incorrect arguments to "contains" should be: '
                                    '{"contains": [value, sequence]}', "ValueError")

    def result(self, r):
        value, sequence = r.resolve(self.args)
        if not isinstance(sequence, (list, str)):
            raise ArgError('Second argument to "contains" should be a sequence.', "TypeError")
        if isinstance(sequence, str) and not isinstance(value, str):
            raise ArgError(f"'in <string>' requires string as left operand, not "
                           f"{type(value).__name__}", "TypeError")
        return value in sequence


class _Budget:
    """What is left of one result's size while it is being built."""

    def __init__(self, limits, name: str):
        self.left, self.limits, self.name = limits.max_function_result_size, limits, name

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            check_size(self.limits, self.name, self.limits.max_function_result_size + 1)


def _replace(text: str, placeholder: str, value: str, budget: _Budget) -> str:
    if placeholder and len(value) > len(placeholder):
        # a replacement may be the text grown many times over: its size first, then the text
        budget.spend(text.count(placeholder) * (len(value) - len(placeholder)))
    return text.replace(placeholder, value)


def _substitute(template: Any, replacements: list[tuple[str, str]], budget: _Budget) -> Any:
    if isinstance(template, str):
        budget.spend(len(template) + 1)
        for placeholder, value in replacements:
            template = _replace(template, placeholder, value, budget)
        return template
    budget.spend(1)
    if isinstance(template, dict):
        return {_substitute(k, replacements, budget): _substitute(v, replacements, budget)
                for k, v in template.items()}
    if isinstance(template, list):
        return [_substitute(item, replacements, budget) for item in template]
    return template


class Repeat(Function):
    EXAMPLE = ('Incorrect arguments to "repeat" should be: {"repeat": {"template": <value>, '
               '"for_each": {"<var>": ["a", "b"]}}}')

    def validate(self, scope):
        if not isinstance(self.args, dict) or "for_each" not in self.args \
                or "template" not in self.args:
            raise self.error(scope, self.EXAMPLE, "KeyError")
        if not isinstance(self.args["for_each"], (dict, Function)):
            raise self.error(scope, 'The "for_each" argument to "repeat" must contain a map',
                             "TypeError")

    def result(self, r):
        for_each = r.resolve(self.args["for_each"])
        template = r.resolve(self.args["template"])
        permutations = True
        if "permutations" in self.args and self.features.repeat_permutations:
            permutations = r.resolve(self.args["permutations"])
            if not isinstance(permutations, bool):
                raise ArgError('"permutations" should be boolean type for repeat function',
                               "TypeError")
        if not isinstance(for_each, dict):
            raise ArgError('The "for_each" argument to "repeat" must contain a map', "TypeError")
        placeholders, value_lists = [], []
        for placeholder, values in for_each.items():
            if values is None:
                values = []
            if isinstance(values, dict) and self.features.repeat_maps and permutations:
                values = list(values)
            if not isinstance(values, list):
                raise ArgError('The values of the "for_each" argument to "repeat" must be '
                               "lists", "TypeError")
            placeholders.append(placeholder)
            value_lists.append(values)
        if permutations:
            count = 1
            for values in value_lists:
                count *= len(values)
            combos = itertools.product(*value_lists)
        else:
            if len({len(v) for v in value_lists}) > 1:
                raise ArgError("For repeat, the length of for_each values should be equal if "
                               "no nested loop.", "ValueError")
            count = len(value_lists[0]) if value_lists else 1
            combos = zip(*value_lists)
        check_iterations(r.limits, self.name, count, "copies of its template")
        check_size(r.limits, self.name,
                   count * measure(template, r.limits.max_function_result_size))
        budget = _Budget(r.limits, self.name)
        out = []
        for combo in combos:
            for value in combo:
                if not isinstance(value, str):
                    raise ArgError(f"replacement values for repeat must be strings, not "
                                   f"{_short(value)}", "TypeError")
            out.append(_substitute(template, list(zip(placeholders, combo)), budget))
        return out


class MemberListToMap(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 3:
            raise self.error(scope, 'Arguments to "Fn::MemberListToMap" must be '
                                    "[key_name, value_name, [members]]")

    def result(self, r):
        key_name, value_name, members = r.resolve(self.args)
        if not isinstance(members, list):
            raise ArgError('"Fn::MemberListToMap" members must be a list', "TypeError")
        grouped: dict[str, dict[str, str]] = {}
        for member in members:
            if not isinstance(member, str) or "=" not in member:
                raise ArgError(f'Wrong member "{member}" for "Fn::MemberListToMap"', "TypeError")
            lhs, value = member.split("=", 1)
            parts = lhs.split(".")
            if len(parts) < 2:
                raise ArgError(f'Wrong member "{member}" for "Fn::MemberListToMap"', "TypeError")
            grouped.setdefault(".".join(parts[:-1]), {})[parts[-1]] = value
        return {g[key_name]: g.get(value_name) for g in grouped.values() if key_name in g}


class GetAZs(Function):
    def result(self, r):
        return ["nova"]
