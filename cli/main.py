"""`stoker` entry point.

Each package owns its subcommands (`agent.cli`, `metadata_server.cli`); they are imported
lazily so that the in-guest agent never imports the server's dependencies (Flask, SQLAlchemy).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module that defines `register(subparsers)`, one-line help)
SUBCOMMANDS = {
    "agent": ("agent.cli", "run the in-guest agent (collect, deploy, signal)"),
    "server": ("metadata_server.cli", "run the metadata / deployment server"),
    "demo": ("cli.demo", "run stoker end to end here: server, agent, two chained deployments"),
    "stack": ("cli.operator.stack", "stacks (as `openstack stack ...`)"),
    "software": ("cli.operator.software", "software configs and deployments"),
    "deployment": ("cli.operator.deployment", "explain why a deployment is where it is"),
    "template": ("cli.operator.template", "validate a template on the server"),
}


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
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
