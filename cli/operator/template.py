"""`stoker template validate`: the same request parts as stack create, sent to POST /validate."""
from __future__ import annotations

from cli.operator.client import Client
from cli.operator.common import connection_parent, leaf, nested
from cli.operator.output import format_data, show_record
from cli.operator.stack import request_body, template_args
from cli.operator.stack_actions import register_template_versions
from cli.operator.template_checks import report, send


def validate(args, client: Client):
    body, sources = request_body(args)
    params = {}
    if args.show_nested:
        params["show_nested"] = "true"
    if args.ignore_errors:
        params["ignore_errors"] = args.ignore_errors
    result = send(client, sources, "POST", "validate", body, params=params or None)
    report(result, sources, args.strict)
    if args.format == "table":
        return format_data(result, "yaml")   # nested parameter schemas read best as YAML
    return show_record(result, args)


def register(subparsers, name: str, help_text: str) -> None:
    top = subparsers.add_parser(name, help=help_text, description=help_text)
    sub = nested(top, "template_command")
    p = leaf(sub, "validate", "validate a template (and environments) on the server", validate,
             connection_parent())
    template_args(p, required=True)
    p.add_argument("--show-nested", action="store_true")
    register_template_versions(sub, connection_parent())
    p.add_argument("--ignore-errors", metavar="CODE,CODE")
