"""YAML/JSON text -> plain data plus the line and column of every value.

Heat's parsing rules (JSON first, then safe YAML; timestamps stay strings; the document must be a
mapping; a size limit) with one addition: every value's position is kept, keyed by its path, so
errors found much later still say `file:line:column`.
"""
from __future__ import annotations

import json
from typing import Any

import yaml

from .errors import TemplateError
from .model import Positions

MAX_TEMPLATE_SIZE = 524288


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when present: ~5x faster
_STR = "tag:yaml.org,2002:str"


class _Loader(_Base):
    """SafeLoader that leaves `2016-10-14` as a string, as Heat's loader does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _record(loader: _Loader, node: yaml.Node, path: tuple, table: dict, keys: dict) -> None:
    table[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR:
                key = key_node.value
            else:
                try:
                    key = loader.construct_object(key_node, deep=True)
                except yaml.YAMLError:
                    continue
            if isinstance(key, (list, dict)):
                continue
            keys[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record(loader, value_node, path + (key,), table, keys)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(loader, item, path + (index,), table, keys)


def _yaml_error(exc: yaml.YAMLError, filename: str, what: str) -> TemplateError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{what} is not valid YAML: {problem}" + (f" ({context})" if context else "")
    return TemplateError(message, filename=filename,
                         line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None, kind="ValueError")


def load_document(text: str | bytes, filename: str, what: str = "template",
                  max_size: int | None = MAX_TEMPLATE_SIZE) -> tuple[Any, Positions]:
    """Decode `text` (JSON or YAML) and return the data with its positions."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{what} is not UTF-8: {exc}", filename=filename,
                                kind="ValueError") from None
    if not isinstance(text, str):
        raise TemplateError(f"{what} must be text, not {type(text).__name__}",
                            filename=filename, kind="ValueError")
    if max_size is not None and len(text) > max_size:
        raise TemplateError(f"{what} exceeds maximum allowed size ({max_size} bytes)",
                            filename=filename, kind="RequestLimitExceeded")
    data: Any = None
    decoded_json = False
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
            decoded_json = True
        except ValueError:
            pass
    table: dict = {}
    keys: dict = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if not decoded_json:
            data = loader.construct_document(node) if node is not None else None
        if node is not None:
            _record(loader, node, (), table, keys)
    except yaml.YAMLError as exc:
        if not decoded_json:
            raise _yaml_error(exc, filename, what) from None
        table, keys = {}, {}   # valid JSON that YAML cannot read (tabs): no positions, still usable
    finally:
        loader.dispose()
    return data, Positions(filename, table, keys)


def parse_template(text: str | bytes, filename: str = "<template>",
                   files: dict[str, str] | None = None):
    """Parse a HOT template (YAML or JSON) into a `Template`.

    Errors are TemplateError with the file, line, column and the path inside the template.
    `files` is the get_file / provider-template map (key -> content) the template may use.
    """
    from .hot import build_template

    data, positions = load_document(text, filename)
    return build_template(data, positions, dict(files or {}))
