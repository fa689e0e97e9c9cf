"""What every operator command shares: connection options, output options, and how a command
runs (build the client, call the handler, turn a CliError into one line and an exit code)."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from cli.operator.client import DEFAULT_TENANT, DEFAULT_URL, Client, Settings
from cli.operator.errors import EXIT_CODES, USAGE, CliError
from cli.operator.output import FORMATS


def connection_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument("--os-url", metavar="URL",
                       help=f"server endpoint (env STOKER_URL, default {DEFAULT_URL})")
    group.add_argument("--os-token", metavar="TOKEN",
                       help="admin or operator token (env STOKER_TOKEN)")
    group.add_argument("--tenant", metavar="NAME",
                       help=f"tenant (env STOKER_TENANT, default {DEFAULT_TENANT!r})")
    out = parent.add_argument_group("output")
    out.add_argument("-f", "--format", choices=FORMATS, default="table", dest="format",
                     help="output format (default table)")
    out.add_argument("-c", "--column", action="append", dest="columns", metavar="COLUMN",
                     help="show only this column (repeatable; `stack_name` or \"Stack Name\")")
    out.add_argument("--noindent", action="store_true", help="json: no indentation")
    out.add_argument("--max-width", type=int, metavar="N",
                     help="table: wrap cells to fit N characters (env CLIFF_MAX_TERM_WIDTH)")
    out.add_argument("--fit-width", action="store_true",
                     help="table: fit the terminal's width (env CLIFF_FIT_WIDTH=1)")
    out.add_argument("--sort-column", action="append", dest="sort_columns", metavar="COLUMN",
                     help="listings: sort by this column (repeatable)")
    order = out.add_mutually_exclusive_group()
    order.add_argument("--sort-ascending", action="store_false", dest="sort_descending",
                       help="with --sort-column: ascending (the default)")
    order.add_argument("--sort-descending", action="store_true", dest="sort_descending",
                       help="with --sort-column: descending")
    parent.set_defaults(sort_descending=False)
    out.add_argument("--quote", choices=("all", "minimal", "none", "nonnumeric"),
                     default="nonnumeric", help="csv: quoting (default nonnumeric)")
    return parent


EXIT_EPILOG = "exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())

Handler = Callable[[argparse.Namespace, Client], "str | int | None"]


def runner(handler: Handler, client_factory=None) -> Callable[[argparse.Namespace], int]:
    """Wrap a handler: it returns text to print (exit 0) or an exit code; errors are one line."""
    def run(args: argparse.Namespace) -> int:
        try:
            factory = client_factory or (lambda a: Client(Settings.from_args(a)))
            result = handler(args, factory(args))
        except CliError as exc:
            print(f"stoker: error: {exc.message}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("stoker: interrupted", file=sys.stderr)
            return 130
        if isinstance(result, str):
            if result:
                print(result)
            return 0
        return int(result or 0)
    return run


def leaf(sub, name: str, help_text: str, handler: Handler, parent) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, parents=[parent],
                            epilog=EXIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # `handler` is kept too, so tests can run a command on a client of their own
    parser.set_defaults(func=runner(handler), handler=handler)
    return parser


def key_values(pairs: list[str] | None, option: str) -> dict[str, str]:
    """`k=v` items (also `k1=v1;k2=v2`, as the openstack client accepts) into a dict."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        for item in pair.split(";") if ";" in pair else [pair]:
            if not item:
                continue
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CliError(f"{option} {item!r}: expected KEY=VALUE", USAGE)
            result[key] = value
    return result


def read_text(path: str, option: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot read ({exc.strerror})", USAGE)
    except UnicodeDecodeError:
        raise CliError(f"{option} {path}: not UTF-8 text", USAGE)


def nested(parser: argparse.ArgumentParser, dest: str):
    """Subcommands under `parser`; with none given, print that parser's help and exit 2."""
    sub = parser.add_subparsers(dest=dest, metavar="COMMAND")

    def usage(_args):
        parser.print_help(sys.stderr)
        return USAGE
    parser.set_defaults(func=usage)
    return sub
