"""`stoker` entry point.

Each package owns its subcommands (`agent.cli`, `metadata_server.cli`); they are imported
lazily so that the in-guest agent never imports the server's dependencies (Flask, SQLAlchemy).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module that defines `register(subparsers)`, one-line help)
SUBCOMMANDS = {
    "agent": ("agent.cli", "run the in-guest agent (collect, deploy, signal)"),
    "server": ("metadata_server.cli", "run the metadata / deployment server; register, list, "
               "rotate and delete the servers whose agents poll it"),
    "wheelhouse": ("metadata_server.boot.wheelhouse_cli",
                   "gather the agent's wheels the server hands to the servers it boots"),
    "demo": ("cli.demo", "run stoker end to end here: server, agent, two chained deployments"),
    "stack": ("cli.operator.stack", "stacks (as `openstack stack ...`)"),
    "software": ("cli.operator.software", "software configs and deployments"),
    "deployment": ("cli.operator.deployment", "explain why a deployment is where it is"),
    "template": ("cli.operator.template", "validate a template; list template versions"),
    "resource": ("cli.operator.stack_actions", "resource types (as `openstack orchestration "
                 "resource type ...`)"),
}
# actions added under a subcommand another module makes: `stoker server register|list|...`
# beside `stoker server [options]` (which runs the server) and `stoker server rotate-key`;
# `stoker stack suspend|resume|check|cancel` (stack_actions uses stack's helpers)
ACTIONS_UNDER = {"server": "cli.operator.servers", "stack": "cli.operator.stack_actions"}
# The agent runs on Python 3.9+ (stock cloud images); everything else needs the server's Python.
AGENT_SUBCOMMANDS = frozenset({"agent"})
SERVER_PYTHON = (3, 11)


def refusal(command: str | None, version: tuple = tuple(sys.version_info[:3])) -> str | None:
    """Why `command` cannot run on this Python, or None when it can."""
    if command not in SUBCOMMANDS or command in AGENT_SUBCOMMANDS or version[:2] >= SERVER_PYTHON:
        return None
    running = ".".join(str(part) for part in version)
    need = ".".join(str(part) for part in SERVER_PYTHON)
    return (f"stoker {command} needs Python {need} or newer; this is Python {running}. "
            f"Only the agent runs on this Python (`stoker agent`, os-collect-config, "
            f"os-refresh-config, os-apply-config, heat-config-notify).")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stoker",
        description="stoker: software configuration for cloud servers. "
        "A Heat-compatible metadata server and the agent that applies its deployments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name != only:
            # only the chosen subcommand's module is imported, so `stoker agent` never
            # loads the server's dependencies
            sub.add_parser(name, help=help_text)
            continue
        importlib.import_module(module).register(sub, name, help_text)
        if name in ACTIONS_UNDER:
            importlib.import_module(ACTIONS_UNDER[name]).register_actions(
                _actions_of(sub.choices[name]))
    return parser


def _actions_of(parser: argparse.ArgumentParser):
    """The subcommand's own ACTION subparsers (it makes them; the operator's join them)."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    reason = refusal(first)
    if reason:
        print(reason, file=sys.stderr)
        return 2
    parser = build_parser(first)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # `stoker ... | head`: the reader left; say nothing (as `cat` would) and let no
        # flush at exit raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141   # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe
    return code


if __name__ == "__main__":
    sys.exit(main())
