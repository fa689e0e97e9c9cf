"""The error a function raises for bad arguments, below both the resolver (base.py) and the
result measures (sizes.py), so neither has to import the other to raise it."""
from __future__ import annotations


class ArgError(Exception):
    """Bad arguments to a function; `kind` is the exception Heat raises for the same input."""

    def __init__(self, message: str, kind: str = "ValueError"):
        super().__init__(message)
        self.kind = kind
