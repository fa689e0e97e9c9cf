"""The one error type of the template package: what went wrong, and where.

Every error names the file, the line and column when known, and the path inside the document
(`resources.server.properties.flavor`), so a user can jump straight to the fault.
"""
from __future__ import annotations

from typing import Any, Iterable


def format_path(path: Iterable[Any]) -> str:
    """`('resources', 'srv', 'properties', 'nets', 0)` -> `resources.srv.properties.nets[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class TemplateError(Exception):
    """A template, environment or parameter value that stoker (or Heat) rejects.

    `kind` is the name of the Heat exception that rejects the same input (for example
    `InvalidTemplateVersion`, `UserParameterMissing`, `StackValidationFailed`); the engine maps
    every kind to HTTP 400. `path` is a tuple of keys and list indices inside the document;
    `line` and `column` are 1-based, or None when unknown (for example a value that came from
    the API rather than a file).
    """

    def __init__(self, message: str, *, filename: str | None = None, line: int | None = None,
                 column: int | None = None, path: Iterable[Any] = (),
                 kind: str = "StackValidationFailed"):
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        self.path = tuple(path)
        self.kind = kind
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """`file:line:column`, as much of it as is known ('' when nothing is)."""
        parts = [self.filename or ""]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts) if any(parts) else ""

    def __str__(self) -> str:
        head = ": ".join(p for p in (self.location, format_path(self.path)) if p)
        return f"{head}: {self.message}" if head else self.message

    def to_dict(self) -> dict[str, Any]:
        """A structured form for API error bodies."""
        return {"type": self.kind, "message": self.message, "file": self.filename,
                "line": self.line, "column": self.column, "path": format_path(self.path)}


def did_you_mean(word: object, choices) -> str:
    """' (did you mean "x"?)' when a close choice exists, else ''."""
    import difflib

    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [c for c in choices if isinstance(c, str)], n=1,
                                      cutoff=0.75)
    return f' (did you mean "{close[0]}"?)' if close else ""
