"""Every limit on what one tenant's template may make the server do, in one place.

The defaults are Heat's where Heat has the limit (the heat.conf name is in each help text); the
others are chosen so that a template under the size limit that does not multiply itself (YAML
aliases, groups of groups, `repeat` of `repeat`) passes. `stoker server` builds one `Limits`
from its options (`add_options` / `from_options`) and hands it to the app and the engine;
nothing changes it afterwards.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace


def _limit(default: int, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Limits:
    max_template_size: int = _limit(
        524288, "characters in a template, nested template or environment (Heat: "
        "max_template_size)")
    max_resources_per_stack: int = _limit(
        1000, "resources in a top-level stack and every stack nested in it, groups and "
        "provider templates included (Heat: max_resources_per_stack)")
    max_nested_depth: int = _limit(
        5, "levels of nested stacks below a top-level stack (Heat: max_nested_stack_depth)")
    max_stacks_per_tenant: int = _limit(
        512, "top-level stacks one tenant may have (Heat: max_stacks_per_tenant)")
    max_events_per_stack: int = _limit(
        1000, "events kept per stack; older ones are purged when an operation ends and after "
        "a signal (Heat: max_events_per_stack)")
    max_snapshots_per_stack: int = _limit(
        32, "snapshots one stack may keep (Heat: max_snapshots_per_stack)")
    max_snapshot_size: int = _limit(
        8388608, "characters of one snapshot's data as JSON (template, files, environment and "
        "every resource's data); a snapshot over it fails, saying so")
    max_handle_signal_size: int = _limit(
        4194304, "characters of the signals one wait condition handle keeps (ids, reasons and "
        "data as JSON); a signal that would take it over is refused")
    max_yaml_aliases: int = _limit(
        1000, "YAML alias references (*name) in one template or environment")
    max_yaml_nodes: int = _limit(
        200000, "values in one template or environment once its YAML aliases are expanded")
    max_function_result_size: int = _limit(
        1048576, "size of one function's result, and of a resource's resolved properties or "
        "metadata and an output's value (characters of its strings plus one per item, key "
        "and value)")
    max_function_iterations: int = _limit(
        10000, "copies one repeat makes of its template")
    yaql_limit_iterators: int = _limit(
        200, "items a yaql expression may iterate over (Heat: [yaql] limit_iterators)")
    yaql_memory_quota: int = _limit(
        10000, "size of what a yaql expression may build (Heat: [yaql] memory_quota)")


DEFAULT = Limits()


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def named(limits: Limits, name: str) -> str:
    """How an error names a limit: its value and the `stoker server` option that sets it."""
    return f"{name} {getattr(limits, name)}, option {option(name)}"


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "limits", "what one tenant's template may make the server do (docs/operations.md, "
        "Limits); a request over a limit gets 400 RequestLimitExceeded")
    for f in fields(Limits):
        group.add_argument(option(f.name), type=_positive, default=f.default, metavar="N",
                           help=f"{f.metadata['help']} (default %(default)s)")


def from_options(args: argparse.Namespace) -> Limits:
    return replace(DEFAULT, **{f.name: getattr(args, f.name) for f in fields(Limits)
                               if hasattr(args, f.name)})


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value
