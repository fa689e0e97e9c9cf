"""The project's imports run one way and close no circle.

LAYERS is the intended direction: each layer (a package or module prefix; the longest prefix
names a module's layer) lists the layers it may import. Everything not listed is against the
direction. The agent side (agent, collector, applier, refresher) never imports the server or the
operator CLI, and stoker_common, their shared home, imports none of them.

KNOWN_CYCLES would name an old circle still to remove: a circle found must lie within one of
them, so they may shrink or go but not grow. The last ones are gone; it is empty and no cycle may
appear.
"""
import pytest
from import_graph import cycles, graph

LAYERS = {
    # the agent side, installed on every guest
    "stoker_common": set(),
    "collector": {"stoker_common"},
    "applier": {"stoker_common"},
    "refresher": {"stoker_common"},
    "agent": {"collector", "applier", "refresher", "stoker_common"},
    # the server, bottom up
    "metadata_server.store": {"stoker_common"},
    "metadata_server.service": {"metadata_server.store", "stoker_common"},
    "metadata_server.boot": {"stoker_common"},
    "metadata_server.engine": {"metadata_server.service", "metadata_server.store", "metadata_server.boot",
                               "stoker_common"},
    # the Engine facade builds the engine's collaborators; none of them reaches back for it
    "metadata_server.engine.stack": {"metadata_server.engine", "metadata_server.service",
                                     "metadata_server.store", "metadata_server.boot", "stoker_common"},
    "metadata_server.api": {"metadata_server.engine", "metadata_server.engine.stack",
                            "metadata_server.service", "metadata_server.store", "metadata_server.boot",
                            "stoker_common"},
    # the server's wiring and the operator CLI may use everything below them
    "metadata_server": {"metadata_server.*", "stoker_common"},
    "cli": {"*"},
}

KNOWN_CYCLES: dict[str, set[str]] = {}

EDGES = graph()


def layer_of(module):
    best = None
    for name in LAYERS:
        if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best)):
            best = name
    return best


def allowed(source, target):
    source_layer, target_layer = layer_of(source), layer_of(target)
    if target_layer == source_layer:
        return True
    for rule in LAYERS[source_layer]:
        if rule == "*" or target_layer == rule:
            return True
        if rule.endswith(".*") and target.startswith(rule[:-1]):
            return True
    return False


def test_every_module_has_a_layer():
    assert [m for m in EDGES if layer_of(m) is None] == []


def test_imports_follow_the_intended_direction():
    against = sorted(f"{source} imports {target}" for source, targets in EDGES.items()
                     for target in targets if not allowed(source, target))
    assert against == [], "imports against the direction in LAYERS:\n" + "\n".join(against)


def test_no_import_cycle_beyond_the_known_ones():
    new = [sorted(c) for c in cycles(EDGES) if not any(c <= known for known in KNOWN_CYCLES.values())]
    assert new == [], "import cycles (break them, or name one in KNOWN_CYCLES only if it is old):\n" + \
        "\n".join(" <-> ".join(c) for c in new)


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [{"a", "b", "c"}]),
    ({"a": {"b"}, "b": set()}, []),
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [{"a", "b"}, {"c", "d"}]),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert sorted(cycles(edges), key=sorted) == expected


def test_a_lower_layer_importing_a_higher_one_is_against_the_direction():
    assert not allowed("collector.cache", "agent.loop")
    assert not allowed("stoker_common.http_client", "collector.cache")
    assert not allowed("agent.cli", "metadata_server.app")
    assert not allowed("metadata_server.engine.stack", "metadata_server.api.stacks")
    assert not allowed("metadata_server.engine.nested_stacks", "metadata_server.engine.stack")
    assert allowed("metadata_server.engine.stack", "metadata_server.engine.runner")
    assert allowed("agent.loop", "stoker_common.atomic") and allowed("metadata_server.app", "metadata_server.api.stacks")
