"""`stoker deployment explain ID`: where a deployment stands and why, in plain words."""
from __future__ import annotations

from datetime import datetime, timezone

from cli.operator.client import Client, q
from cli.operator.common import connection_parent, leaf, nested
from cli.operator.errors import NOT_FOUND, CliError
from cli.operator.output import format_record, show_record
from metadata_server.service.deployment_explain import explain


def explain_command(args, client: Client):
    deployment = client.get(f"software_deployments/{q(args.id)}",
                            what=f"software deployment {args.id}")["software_deployment"]
    try:
        server = client.get(f"servers/{q(deployment['server_id'])}")["server"]
    except CliError as exc:
        if exc.code != NOT_FOUND:
            raise
        server = None  # a Heat-style deployment to a server stoker does not know
    record = explain(deployment, server, datetime.now(timezone.utc))
    if args.format == "table" and not args.columns:
        # the plain-words paragraph reads better under the facts than inside a table cell
        story = record.pop("explanation")
        return format_record(record, "table") + "\n\n" + _wrap(story)
    return show_record(record, args)


def _wrap(text: str, width: int = 96) -> str:
    import textwrap
    return textwrap.fill(text, width)


def register(subparsers, name: str, help_text: str) -> None:
    top = subparsers.add_parser(name, help=help_text, description=help_text)
    sub = nested(top, "deployment_command")
    p = leaf(sub, "explain", "why a deployment is where it is: agent last seen, phase, last "
             "signal, timeout left", explain_command, connection_parent())
    p.add_argument("id")
