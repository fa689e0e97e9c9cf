"""YAML/JSON text -> plain data plus the line and column of every value.

Heat's parsing rules (JSON first, then safe YAML; timestamps stay strings; the document must be a
mapping; a size limit) with one addition: every value's position is kept, keyed by its path, so
errors found much later still say `file:line:column`.

YAML aliases make the composed node graph a DAG: a few hundred bytes of anchors that reference
anchors stand for billions of nodes once expanded. The graph is measured (aliases used, nodes
after expansion, depth, cycles) before anything is constructed from it, in time and memory
linear in the text, so such a document is refused before it grows.
"""
from __future__ import annotations

import json
from typing import Any

import yaml

from metadata_server.engine.limits import DEFAULT, Limits, named

from .errors import TemplateError
from .model import Positions

# deeper documents are refused: every later walk (functions, JSON, storage) recurses
MAX_DEPTH = 100


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


def _at(filename: str, node: yaml.Node, path: tuple, message: str, kind: str) -> TemplateError:
    return TemplateError(message, filename=filename, line=node.start_mark.line + 1,
                         column=node.start_mark.column + 1, path=path, kind=kind)


def _measure(root: yaml.Node, limits: Limits, filename: str, what: str) -> None:
    """Refuse a node graph whose expansion is too big, too deep or endless (see module doc).

    Iterative and memoized by node: each node is visited once however often it is aliased."""
    sizes: dict[int, int] = {}          # id(node) -> nodes once expanded, itself included
    open_nodes: set[int] = set()
    aliases = 0
    frames = [(root, (), iter(_children(root)), [1])]
    open_nodes.add(id(root))
    while frames:
        node, path, children, total = frames[-1]
        step = next(children, None)
        if step is None:
            frames.pop()
            open_nodes.discard(id(node))
            sizes[id(node)] = total[0]
            if total[0] > limits.max_yaml_nodes:
                raise _at(filename, node, path,
                          f"{what} has {total[0]} nodes once YAML aliases are expanded, more "
                          f"than the limit ({named(limits, 'max_yaml_nodes')})",
                          "RequestLimitExceeded")
            if frames:
                frames[-1][3][0] += total[0]
            continue
        key, child = step
        if id(child) in open_nodes:
            raise _at(filename, node, path + (key,),
                      f"{what} has a YAML alias that contains itself", "ValueError")
        if id(child) in sizes:
            aliases += 1
            if aliases > limits.max_yaml_aliases:
                raise _at(filename, node, path + (key,),
                          f"{what} uses more YAML aliases than the limit "
                          f"({named(limits, 'max_yaml_aliases')})", "RequestLimitExceeded")
            total[0] += sizes[id(child)]
            continue
        if len(frames) >= MAX_DEPTH:
            raise _at(filename, child, path + (key,),
                      f"{what} is nested more than {MAX_DEPTH} levels deep",
                      "RequestLimitExceeded")
        frames.append((child, path + (key,), iter(_children(child)), [1]))
        open_nodes.add(id(child))


def _check_depth(data: Any, filename: str, what: str) -> None:
    """The depth limit for JSON that was not measured as YAML (it has no aliases to expand)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TemplateError(f"{what} is nested more than {MAX_DEPTH} levels deep",
                                filename=filename, kind="RequestLimitExceeded")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _children(node: yaml.Node):
    """(path key, child node) pairs; a mapping's key nodes count as nodes too."""
    if isinstance(node, yaml.MappingNode):
        for index, (key_node, value_node) in enumerate(node.value):
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else index
            yield key, key_node
            yield key, value_node
    elif isinstance(node, yaml.SequenceNode):
        yield from enumerate(node.value)


def _yaml_error(exc: yaml.YAMLError, filename: str, what: str) -> TemplateError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{what} is not valid YAML: {problem}" + (f" ({context})" if context else "")
    return TemplateError(message, filename=filename,
                         line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None, kind="ValueError")


def load_document(text: str | bytes, filename: str, what: str = "template",
                  limits: Limits = DEFAULT) -> tuple[Any, Positions]:
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
    if len(text) > limits.max_template_size:
        raise TemplateError(f"{what} size ({len(text)} bytes) exceeds maximum allowed size "
                            f"({named(limits, 'max_template_size')})",
                            filename=filename, kind="RequestLimitExceeded")
    data: Any = None
    decoded_json = False
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
            decoded_json = True
        except (ValueError, RecursionError):
            pass   # YAML reads it, and says where it is wrong
    table: dict = {}
    keys: dict = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _measure(node, limits, filename, what)
        if not decoded_json:
            data = loader.construct_document(node) if node is not None else None
        if node is not None:
            _record(loader, node, (), table, keys)
    except yaml.YAMLError as exc:
        if not decoded_json:
            raise _yaml_error(exc, filename, what) from None
        table, keys = {}, {}   # valid JSON that YAML cannot read (tabs): no positions, still usable
        _check_depth(data, filename, what)
    finally:
        loader.dispose()
    return data, Positions(filename, table, keys)


def parse_template(text: str | bytes, filename: str = "<template>",
                   files: dict[str, str] | None = None, limits: Limits = DEFAULT):
    """Parse a template (YAML or JSON; HOT or CFN, by its version key) into a `Template`.

    Errors are TemplateError with the file, line, column and the path inside the template.
    `files` is the get_file / provider-template map (key -> content) the template may use.
    """
    from .formats import build

    data, positions = load_document(text, filename, limits=limits)
    return build(data, positions, dict(files or {}), limits)
