"""String functions: str_replace (+strict, vstrict), list_join, str_split, digest, make_url,
and the 2013-05-23 CFN string functions."""
from __future__ import annotations

import hashlib
import json
import reprlib
from typing import Any
from urllib.parse import quote, urlencode

from .base import ArgError, Function, Scope
from metadata_server.engine.limits import named

from .sizes import check_size


def _replaced_size(text: str, pairs: list[tuple[str, str]]) -> int:
    """At most how long the single-pass replacement is: pieces are parts of the text, so no
    placeholder occurs in the result's unreplaced text more often than in `text`."""
    return len(text) + sum(text.count(key) * len(value) for key, value in pairs if key)


def _joined(name: str, r, delim: str, items) -> str:
    """`delim.join(items)`, refused before joining when it would be too long."""
    parts, size = [], 0
    for item in items:
        size += len(item) + len(delim)
        check_size(r.limits, name, size)
        parts.append(item)
    return delim.join(parts)


# how many characters a replacement may scan per character of result it may make (each
# placeholder scans the text once): a long text with thousands of placeholders is refused
_SCANS_PER_CHARACTER = 256


def _check_work(name: str, limits, placeholders: int, text: str) -> None:
    """Before any placeholder is looked for: each one scans the whole text."""
    if placeholders * len(text) > _SCANS_PER_CHARACTER * limits.max_function_result_size:
        raise ArgError(f'"{name}" of {placeholders} placeholders over {len(text)} characters is '
                       "more work than the limit allows "
                       f"({named(limits, 'max_function_result_size')})", "RequestLimitExceeded")


def _replace_single_pass(text: str, pairs: list[tuple[str, str]], limits, name: str) -> str:
    """Split on the first placeholder, then split the pieces on the next one, and so on, and
    join: replaced text is never scanned again, and the longest placeholder claims its text
    first. A loop over the placeholders, not a recursion (there may be thousands)."""
    cap = limits.max_function_result_size
    pieces: list[tuple[bool, str]] = [(False, text)]   # (already replaced, text)
    visited = 0
    for key, value in pairs:
        visited += len(pieces)
        if visited > cap:
            raise ArgError(f'"{name}" makes too many pieces to replace in '
                           f"({named(limits, 'max_function_result_size')})",
                           "RequestLimitExceeded")
        split: list[tuple[bool, str]] = []
        for done, piece in pieces:
            if done or key not in piece:
                split.append((done, piece))
                continue
            for index, part in enumerate(piece.split(key)):
                if index:
                    split.append((True, value))
                if part:
                    split.append((False, part))
        pieces = split
    return "".join(piece for _, piece in pieces)


class StrReplace(Function):
    EXAMPLE = ('Incorrect arguments to "{fn}" should be: {{"{fn}": {{"template": "<string>", '
               '"params": {{"<placeholder>": "<value>"}}}}}}')

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, dict) or "template" not in self.args \
                or "params" not in self.args:
            raise self.error(scope, self.EXAMPLE.format(fn=self.name), "KeyError")

    def _value(self, key: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (str, int, float, bool)):
            return str(value)
        if isinstance(value, (dict, list)) and self.features.json_in_str_replace:
            return json.dumps(value, sort_keys=True)
        raise ArgError(f'"{self.name}" params must be strings or numbers, param {key} is not '
                       "valid", "TypeError")

    def result(self, r):
        template = r.resolve(self.args["template"])
        params = r.resolve(self.args["params"])
        if not isinstance(template, str):
            raise ArgError(f'"{self.name}" template must be a string', "TypeError")
        if not isinstance(params, dict):
            raise ArgError(f'"{self.name}" parameters must be a mapping', "TypeError")
        for key in params:
            if not isinstance(key, str):
                raise ArgError(f'"{self.name}" param placeholders must be strings', "TypeError")
        _check_work(self.name, r.limits, len(params), template)
        keys = sorted(params, key=lambda k: (-len(k), k))
        self.check_params(template, keys, params)
        pairs = [(k, self._value(k, params[k])) for k in keys if k]
        check_size(r.limits, self.name, _replaced_size(template, pairs))
        return _replace_single_pass(template, pairs, r.limits, self.name)

    def check_params(self, template: str, keys: list[str], params: dict) -> None:
        pass


class StrReplaceStrict(StrReplace):
    def check_params(self, template, keys, params):
        missing = [k for k in keys if k not in template]
        if missing:
            raise ArgError("The following params were not found in the template: "
                           + ",".join(missing), "ValueError")


class StrReplaceVstrict(StrReplaceStrict):
    def check_params(self, template, keys, params):
        super().check_params(template, keys, params)
        for key in keys:
            if params[key] in (None, "", [], {}):
                raise ArgError(f"{self.name} has an undefined or empty value for param {key}, "
                               "must be a defined non-empty value", "ValueError")


class ListJoin(Function):
    def validate(self, scope: Scope) -> None:
        args = self.args
        if not isinstance(args, list) or len(args) < 2 or (
                not self.features.multi_list_join and len(args) != 2):
            form = '[delim, [list1], [list2], ...]' if self.features.multi_list_join \
                else '[delim, [list]]'
            raise self.error(scope, f'Incorrect arguments to "list_join" should be: '
                                    f'{{"list_join": {form}}}', "ValueError")

    def _item(self, item: Any) -> str:
        if item is None:
            return ""
        if isinstance(item, str):
            return item
        if self.features.multi_list_join and isinstance(item, (dict, list)):
            return json.dumps(item, sort_keys=True)
        if self.features.multi_list_join:
            raise ArgError(f"Items to join must be string, map or list not {reprlib.repr(item)}",
                           "TypeError")
        raise ArgError(f"Items to join must be strings not {reprlib.repr(item)}", "TypeError")

    def result(self, r):
        args = r.resolve(self.args)
        delim, lists = args[0], args[1:]
        if not isinstance(delim, str):
            raise ArgError('"list_join" delimiter must be a string', "TypeError")
        for lst in lists:
            if lst is not None and not isinstance(lst, list):
                raise ArgError('"list_join" must operate on a list', "TypeError")
        return _joined(self.name, r, delim,
                       (self._item(i) for lst in lists if lst for i in lst))


class StrSplit(Function):
    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) not in (2, 3):
            raise self.error(scope, 'Incorrect arguments to "str_split" should be: '
                                    '{"str_split": [delim, string]} or '
                                    '{"str_split": [delim, string, index]}', "ValueError")

    def result(self, r):
        args = r.resolve(self.args)
        delim, text = args[0], args[1]
        if text is None:
            return None
        if not isinstance(delim, str):
            raise ArgError('"str_split" delimiter must be a string', "TypeError")
        if not hasattr(text, "split"):
            raise ArgError(f"'{type(text).__name__}' object has no attribute 'split'",
                           "AttributeError")
        if delim:
            check_size(r.limits, self.name, len(text) + text.count(delim) + 1)
        parts = text.split(delim)
        if len(args) == 2:
            return parts
        try:
            index = int(args[2])
            return parts[index]
        except (ValueError, TypeError, IndexError):
            raise ArgError('Incorrect index to "str_split" should be between 0 and '
                           f"{len(parts) - 1}", "ValueError") from None


class Digest(Function):
    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Argument to function "digest" must be a list: '
                                    "[algorithm, value]", "ValueError")

    def result(self, r):
        algorithm, value = r.resolve(self.args)
        if not isinstance(algorithm, str):
            raise ArgError("Algorithm must be a string.", "TypeError")
        if not isinstance(value, str):
            raise ArgError("The value to digest must be a string.", "TypeError")
        name = algorithm.lower()
        if name not in hashlib.algorithms_available or name.startswith("shake"):
            raise ArgError(f"Algorithm {algorithm} is not available.", "ValueError")
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ArgError("The value to digest has characters outside latin-1",
                           "ValueError") from None
        return hashlib.new(name, data).hexdigest()


class MakeUrl(Function):
    KEYS = ("scheme", "username", "password", "host", "port", "path", "query", "fragment")

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, dict):
            raise self.error(scope, 'The arguments to "make_url" must be a map', "TypeError")
        bad = sorted(str(k) for k in self.args if k not in self.KEYS)
        if bad:
            raise self.error(scope, 'Invalid arguments to "make_url": ' + ", ".join(bad))

    def result(self, r):
        a = r.resolve(self.args)
        for key in a:
            if key != "query" and a[key] is not None and not isinstance(a[key], (str, int)):
                raise ArgError(f'"{key}" argument to "make_url" must be a string', "TypeError")
        url = ""
        scheme = a.get("scheme")
        if scheme:
            if ":" in str(scheme):
                raise ArgError(f'Invalid URL scheme {scheme}', "ValueError")
            url += f"{scheme}:"
        url += "//"
        if a.get("username") is not None:
            url += quote(str(a["username"]), safe="")
            if a.get("password") is not None:
                url += ":" + quote(str(a["password"]), safe="")
            url += "@"
        host = str(a.get("host") or "")
        url += f"[{host}]" if ":" in host and not host.startswith("[") else host
        if a.get("port") is not None:
            try:
                port = int(a["port"])
            except (TypeError, ValueError):
                raise ArgError(f'Invalid port "{a["port"]}"', "ValueError") from None
            if not 1 <= port <= 65535:
                raise ArgError(f'Invalid port {port}', "ValueError")
            url += f":{port}"
        path = a.get("path")
        if path:
            path = str(path)
            url += quote(path if path.startswith("/") else "/" + path)
        query = a.get("query")
        if query:
            if not isinstance(query, dict):
                raise ArgError('"query" argument to "make_url" must be a map', "TypeError")
            url += "?" + urlencode(query).replace("%2F", "/")
        if a.get("fragment"):
            url += "#" + quote(str(a["fragment"]))
        return url


class FnJoin(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::Join" must be [delim, [strings]]')

    def result(self, r):
        delim, items = r.resolve(self.args)
        if items is None:
            return ""
        if not isinstance(items, list) or not isinstance(delim, str):
            raise ArgError('"Fn::Join" must operate on a list', "TypeError")
        return _joined(self.name, r, delim, ("" if i is None else str(i) for i in items))


class FnSplit(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::Split" must be [delim, string]')

    def result(self, r):
        delim, text = r.resolve(self.args)
        if not isinstance(delim, str) or not isinstance(text, str):
            raise ArgError('"Fn::Split" must operate on a string', "TypeError")
        return text.split(delim)


class FnReplace(Function):
    def validate(self, scope):
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise self.error(scope, 'Arguments to "Fn::Replace" must be [{map}, string]')

    def result(self, r):
        mapping, text = r.resolve(self.args)
        if not isinstance(mapping, dict) or not isinstance(text, str):
            raise ArgError('"Fn::Replace" takes a map and a string', "TypeError")
        _check_work(self.name, r.limits, len(mapping), text)
        pairs = [(k, "" if v is None else str(v))
                 for k, v in sorted(mapping.items(), key=lambda kv: (-len(kv[0]), kv[0]))]
        check_size(r.limits, self.name, _replaced_size(text, pairs))
        return _replace_single_pass(text, pairs, r.limits, self.name)


class FnBase64(Function):
    """Heat's Fn::Base64 returns its (string) argument unchanged."""

    def result(self, r):
        value = r.resolve(self.args)
        if not isinstance(value, str):
            raise ArgError('"Fn::Base64" argument must be a string', "TypeError")
        return value
