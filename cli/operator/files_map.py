"""Local files a template refers to, gathered into the `files` map as the openstack client does.

Heat's server never reads the operator's disk: it looks files up by exact key in the request's
`files`. So, before sending, every `get_file: <path>` and every `type: <path>.yaml|.template` is
resolved against the URL of the document it appears in, rewritten to that absolute URL
(`file:///abs/path`, or http(s) as given), and its content stored under that key. Provider
templates are processed the same way, recursively, and stored as JSON; `get_file` contents are
stored as they are. Environments (`-e`, in order) have their `resource_registry` paths resolved
against their own location (or the registry's `base_url`), are stored in `files` themselves and
listed in `environment_files` for the server to merge. sources.py keeps where each JSON token
came from, so the server's error positions name the operator's own file.

Everything here is pure apart from the `reader` it is given (url -> text), so tests can feed any
tree of documents.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urljoin, urlsplit

import yaml

from cli.operator.errors import USAGE, CliError
from cli.operator.sources import TEMPLATE, Sources, display_path

Reader = Callable[[str], str]
TEMPLATE_SUFFIXES = (".yaml", ".template")


class FilesError(CliError):
    def __init__(self, message: str):
        super().__init__(message, USAGE)


def path_to_url(path: str | Path) -> str:
    return Path(path).expanduser().resolve().as_uri()


def base_of(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/"


def _display(url: str) -> str:
    """What to call a document in a message: its local path when it is a local file."""
    return display_path(url)


def read_url(url: str) -> str:
    """Local `file://` reads; http(s) fetches (as the openstack client allows for templates)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OSError(f"{path} does not exist")
        except IsADirectoryError:
            raise OSError(f"{path} is a directory")
        except UnicodeDecodeError:
            raise OSError(f"{path} is not UTF-8 text")
    if parts.scheme in ("http", "https"):
        import requests
        try:
            response = requests.get(url, timeout=30)
        except requests.RequestException as exc:
            raise OSError(f"{url} could not be fetched ({type(exc).__name__})")
        if response.status_code != 200:
            raise OSError(f"{url} answered HTTP {response.status_code}")
        return response.text
    raise OSError(f"{url}: only file, http and https locations can be read")


def is_template_ref(value) -> bool:
    return isinstance(value, str) and value.endswith(TEMPLATE_SUFFIXES)


class _Loader(yaml.SafeLoader):
    """YAML as Heat reads templates: dates stay strings (`heat_template_version: 2018-08-31`),
    so the parsed document can be sent on as JSON unchanged."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def compose_document(text: str, where: str, kind: str = "template") -> tuple[dict, yaml.Node]:
    """The document's data and its node tree (which knows every value's line and column)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FilesError(f"{where}{place}: not valid YAML ({problem})")
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise FilesError(f"{where}: a {kind} must be a YAML mapping, not "
                         f"{type(data).__name__ if data is not None else 'an empty document'}")
    return data, node


def parse_document(text: str, where: str, kind: str = "template") -> dict:
    return compose_document(text, where, kind)[0]


class _Gatherer:
    def __init__(self, files: dict[str, str], reader: Reader, sources: Sources):
        self.files, self.reader, self.sources = files, reader, sources
        self.open: list[str] = []   # documents being processed, to refuse include cycles

    def _read(self, url: str, where: str, field: str, value: str) -> str:
        try:
            return self.reader(url)
        except OSError as exc:
            raise FilesError(f"{where}: {field}: cannot read {value!r} ({exc})")

    def template(self, url: str, data: dict) -> dict:
        """`data` (the document at `url`) with its references rewritten; contents into files."""
        self.open.append(url)
        try:
            return self._walk(data, base_of(url), _display(url), "")
        finally:
            self.open.pop()

    def _walk(self, node, base: str, where: str, path: str):
        if isinstance(node, list):
            return [self._walk(item, base, where, f"{path}[{i}]") for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, value in node.items():
            field = f"{path}.{key}" if path else str(key)
            if key == "get_file" and isinstance(value, str):
                result[key] = self.get_file(value, base, where, field)
            elif key == "type" and is_template_ref(value):
                result[key] = self.provider(value, base, where, field)
            else:
                result[key] = self._walk(value, base, where, field)
        return result

    def get_file(self, value: str, base: str, where: str, field: str) -> str:
        url = urljoin(base, value)
        if url not in self.files:
            self.files[url] = self._read(url, where, field, value)
        return url

    def provider(self, value: str, base: str, where: str, field: str) -> str:
        url = urljoin(base, value)
        if url in self.open:
            chain = " -> ".join(_display(u) for u in self.open + [url])
            raise FilesError(f"{where}: {field}: template includes itself ({chain})")
        if url not in self.files:
            child, node = compose_document(self._read(url, where, field, value), _display(url))
            self.files[url] = self.sources.add(url, _display(url), node,
                                               self.template(url, child))
        return url

    def environment(self, url: str, data: dict) -> dict:
        where = _display(url)
        registry = data.get("resource_registry")
        if registry is None:
            return data
        if not isinstance(registry, dict):
            raise FilesError(f"{where}: resource_registry must be a mapping")
        base = registry.get("base_url") or base_of(url)
        if not base.endswith("/"):
            base += "/"
        out = {}
        for key, value in registry.items():
            field = f"resource_registry.{key}"
            if key == "resources" and isinstance(value, dict):
                out[key] = {
                    name: ({k: (self.provider(v, base, where, f"{field}.{name}.{k}")
                                if is_template_ref(v) else v) for k, v in entry.items()}
                           if isinstance(entry, dict) else entry)
                    for name, entry in value.items()}
            elif key != "base_url" and is_template_ref(value):
                out[key] = self.provider(value, base, where, field)
            else:
                out[key] = value
        return dict(data, resource_registry=out)


def gather_template(template_url: str, files: dict[str, str], reader: Reader = read_url,
                    sources: Sources | None = None, display: str | None = None) -> dict:
    """The template at `template_url`, rewritten; what it refers to is added to `files`."""
    try:
        text = reader(template_url)
    except OSError as exc:
        raise FilesError(f"-t: cannot read the template ({exc})")
    sources = sources if sources is not None else Sources()
    display = display or _display(template_url)
    data, node = compose_document(text, display)
    rewritten = _Gatherer(files, reader, sources).template(template_url, data)
    sources.add(TEMPLATE, display, node, rewritten)
    return rewritten


def gather_environments(env_urls: list[str], files: dict[str, str],
                        reader: Reader = read_url, sources: Sources | None = None,
                        displays: list[str] | None = None) -> list[str]:
    """Each environment, rewritten and stored in `files`; returns `environment_files` (ordered)."""
    sources = sources if sources is not None else Sources()
    gatherer = _Gatherer(files, reader, sources)
    listed = []
    for index, url in enumerate(env_urls):
        try:
            text = reader(url)
        except OSError as exc:
            raise FilesError(f"-e: cannot read an environment ({exc})")
        display = displays[index] if displays else _display(url)
        data, node = compose_document(text, display, "environment")
        files[url] = sources.add(url, display, node, gatherer.environment(url, data))
        if url not in listed:
            listed.append(url)
    return listed


def stack_request_parts(template: str | None, environments: list[str] | None,
                        reader: Reader = read_url, sources: Sources | None = None) -> dict:
    """`template`, `files` and `environment_files` for a stack create/update/preview/validate
    body, from a template path or URL and environment paths or URLs as given on the command line.
    `sources` (when given) learns where each document came from, to place the server's errors."""
    files: dict[str, str] = {}
    parts: dict = {}
    sources = sources if sources is not None else Sources()
    if template is not None:
        parts["template"] = gather_template(_as_url(template), files, reader, sources,
                                            display_path(template))
    env_urls = [_as_url(e) for e in environments or []]
    if env_urls:
        parts["environment_files"] = gather_environments(
            env_urls, files, reader, sources, [display_path(e) for e in environments])
    parts["files"] = files
    return parts


def _as_url(location: str) -> str:
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    return path_to_url(location)
