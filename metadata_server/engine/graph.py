"""The dependency graph of a stack: each resource and the resources it requires.

Edges come from explicit `depends_on` and from every get_resource/get_attr inside a resource's
properties and metadata. Create and update walk it forward (required first); delete walks the
reverse.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from metadata_server.engine.errors import CircularDependency, StackValidationFailed


class Graph:
    def __init__(self, requires: Mapping[str, Iterable[str]]):
        self._requires = {node: set(deps) for node, deps in requires.items()}
        for node, deps in self._requires.items():
            for dep in deps:
                if dep not in self._requires:
                    raise StackValidationFailed(
                        f"The specified reference \"{dep}\" (in {node}) is incorrect.",
                        f"resources.{node}")

    @property
    def nodes(self) -> list[str]:
        return list(self._requires)

    def requires(self, node: str) -> set[str]:
        return set(self._requires[node])

    def required_by(self, node: str) -> set[str]:
        return {n for n, deps in self._requires.items() if node in deps}

    def as_mapping(self) -> dict[str, set[str]]:
        return {node: set(deps) for node, deps in self._requires.items()}

    def reversed(self) -> "Graph":
        """For delete: a resource waits until everything that requires it is gone."""
        result: dict[str, set[str]] = {node: set() for node in self._requires}
        for node, deps in self._requires.items():
            for dep in deps:
                result[dep].add(node)
        return Graph(result)

    def subgraph(self, nodes: Iterable[str]) -> "Graph":
        keep = set(nodes)
        return Graph({n: self._requires[n] & keep for n in self._requires if n in keep})

    def find_cycle(self) -> list[str] | None:
        """A cycle as a path that starts and ends at the same resource, or None."""
        WHITE, GREY, BLACK = 0, 1, 2
        colour = dict.fromkeys(self._requires, WHITE)
        for start in sorted(self._requires):
            if colour[start] != WHITE:
                continue
            # iterative DFS: a deep chain of a thousand resources must not hit the recursion limit
            path, stack = [start], [iter(sorted(self._requires[start]))]
            colour[start] = GREY
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    colour[path.pop()] = BLACK
                    stack.pop()
                elif colour[nxt] == GREY:
                    return path[path.index(nxt):] + [nxt]
                elif colour[nxt] == WHITE:
                    colour[nxt] = GREY
                    path.append(nxt)
                    stack.append(iter(sorted(self._requires[nxt])))
        return None

    def check_acyclic(self) -> None:
        cycle = self.find_cycle()
        if cycle:
            raise CircularDependency(cycle)


def merge(*graphs: Graph) -> Graph:
    """The union of several graphs' nodes and edges (for an update: new edges + old reversed)."""
    result: dict[str, set[str]] = {}
    for graph in graphs:
        for node, deps in graph.as_mapping().items():
            result.setdefault(node, set()).update(deps)
    return Graph(result)
