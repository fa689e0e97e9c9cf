"""`stoker server`'s event notification options and the delivery they build
(service/event_sinks.py; docs/operations.md "Event sinks")."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from metadata_server.server_values import count


def add_options(parser) -> None:
    parser.add_argument("--event-webhook", metavar="URL",
                        help="also POST every stack and resource event of every tenant to this "
                        "http(s) URL, signed with the secret of --event-webhook-secret-file or "
                        "STOKER_EVENT_WEBHOOK_SECRET")
    parser.add_argument("--event-webhook-secret-file", metavar="FILE",
                        help="file holding the server-wide webhook's HMAC secret (mode 0600)")
    parser.add_argument("--event-sink-allow-network", action="append", default=[],
                        metavar="CIDR", help="let tenants' webhook sinks reach addresses in "
                        "this private, loopback or link-local network (repeatable; by default "
                        "such targets are refused)")
    parser.add_argument("--event-sink-max-age", type=float, default=86400, metavar="SECONDS",
                        help="give up on an event not delivered after this long "
                        "(default %(default)g)")
    parser.add_argument("--event-sink-max-pending", type=count, default=10000, metavar="N",
                        help="undelivered events one tenant may have waiting; past it new ones "
                        "are dropped and counted (default %(default)s)")
    parser.add_argument("--zaqar-url", metavar="URL|cloud",
                        help="post the events of zaqar-queue sinks to this Zaqar (its v2 "
                        "messages API); `cloud`: the messaging endpoint of --os-cloud's catalog. "
                        "With --cloud-driver openstack the cloud's token is sent. Without this "
                        "option a stack with a zaqar-queue sink is refused")


def event_delivery(args: argparse.Namespace, context):
    from metadata_server.service.event_sinks import DeliveryOptions, EventDelivery

    secret = None
    if args.event_webhook:
        secret = os.environ.get("STOKER_EVENT_WEBHOOK_SECRET")
        if args.event_webhook_secret_file:
            path = Path(args.event_webhook_secret_file)
            if path.stat().st_mode & 0o077:
                raise SystemExit(f"stoker server: {path} is open to group or others; "
                                 "chmod 600 it")
            secret = path.read_text().strip()
        if not secret:
            raise SystemExit("stoker server: --event-webhook needs a secret: "
                             "--event-webhook-secret-file FILE or STOKER_EVENT_WEBHOOK_SECRET")
    options = DeliveryOptions(server_url=args.event_webhook, server_secret=secret,
                              allow_networks=args.event_sink_allow_network,
                              max_age=args.event_sink_max_age,
                              max_pending_per_tenant=args.event_sink_max_pending,
                              zaqar=_zaqar(args))
    return EventDelivery(context.store.engine, context.metrics, options)


def _zaqar(args: argparse.Namespace):
    from metadata_server.service.zaqar_sink import CLOUD, ZaqarQueues, cloud_session

    if not args.zaqar_url:
        return None
    if args.zaqar_url != CLOUD and not args.zaqar_url.startswith(("http://", "https://")):
        raise SystemExit(f"stoker server: --zaqar-url {args.zaqar_url!r} is neither an "
                         "http(s) URL nor `cloud`")
    if args.zaqar_url == CLOUD and args.cloud_driver != "openstack":
        raise SystemExit("stoker server: --zaqar-url cloud needs --cloud-driver openstack (its "
                         "cloud's catalog names Zaqar)")
    session = cloud_session(args.os_cloud) if args.cloud_driver == "openstack" else None
    return ZaqarQueues(args.zaqar_url, session)
