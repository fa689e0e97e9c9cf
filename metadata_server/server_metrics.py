"""`stoker server`'s options for agents' metrics and stoker's own alarm evaluation, and their
wiring into the app and its background thread (docs/operations.md "Metrics and alarms")."""
from __future__ import annotations

import argparse

from metadata_server.server_values import count, seconds, seconds_or_zero


def add_options(parser) -> None:
    parser.add_argument("--metrics-retention", type=seconds, default=3600, metavar="SECONDS",
                        help="how long a server's metric samples are kept (default %(default)g)")
    parser.add_argument("--metrics-max-batches", type=count, default=720, metavar="N",
                        help="metric batches kept per server, the newest (default %(default)s)")
    parser.add_argument("--metrics-min-interval", type=seconds_or_zero, default=1.0,
                        metavar="SECONDS",
                        help="shortest time between two metric batches of one server; a batch "
                        "sent sooner is answered 429 with Retry-After (default %(default)g)")
    parser.add_argument("--alarm-evaluator", choices=("auto", "stoker"), default="auto",
                        help="who evaluates OS::Aodh alarms: `auto` leaves them to Aodh with "
                        "--cloud-driver openstack and evaluates them here with the local driver; "
                        "`stoker` always evaluates them here, from the agents' metrics "
                        "(default %(default)s)")
    parser.add_argument("--alarm-evaluation-interval", type=seconds, default=60,
                        metavar="SECONDS", help="how often each alarm is evaluated (Aodh's "
                        "evaluation_interval; default %(default)g)")
    parser.add_argument("--alarm-max-per-tick", type=count, default=50, metavar="N",
                        help="alarms one server process evaluates at a time, shared fairly "
                        "among tenants; more wait for the next turn (default %(default)s)")
    parser.add_argument("--alarm-action-timeout", type=seconds, default=5, metavar="SECONDS",
                        help="how long an alarm action's HTTP POST may take (default %(default)g)")
    parser.add_argument("--alarm-action-allow-network", action="append", default=[],
                        metavar="CIDR", help="let alarm actions reach addresses in this "
                        "private, loopback or link-local network (repeatable; by default such "
                        "targets are refused; the server's own URLs are always called in-process)")


def wire(args: argparse.Namespace, app, background) -> None:
    from metadata_server.api import metrics_ingest
    from metadata_server.service.metric_samples import IngestLimits, epoch

    found = metrics_ingest.configure(app, IngestLimits(
        retention=args.metrics_retention, max_batches=args.metrics_max_batches,
        min_interval=args.metrics_min_interval))
    clock = app.extensions["stoker"].clock
    background.tasks.append(("metric window pruning", 60.0, lambda: found.window.prune(
        epoch(clock) - args.metrics_retention, args.metrics_max_batches)))
    evaluator = _alarm_evaluator(args, app)
    background.companions.append(evaluator)
    background.tasks.append(("alarm pruning", 300.0, evaluator.alarms.prune_orphans))


def _alarm_evaluator(args: argparse.Namespace, app):
    """stoker's own alarm evaluator for this process; it starts evaluating once the engine is
    made (its actions are the engine's policy URLs, called in-process)."""
    from metadata_server.api.alarm_actions import ActionCaller
    from metadata_server.api.metrics_ingest import EVALUATOR
    from metadata_server.service.alarm_evaluator import AlarmEvaluator, EvaluatorOptions

    def own_bases():
        engine = app.extensions.get("stoker-engine")
        return [args.public_url, engine.runtimes.endpoints.base_url if engine else None]
    context = app.extensions["stoker"]
    evaluator = AlarmEvaluator(
        context.store.engine, context.clock,
        ActionCaller(app, own_bases, timeout=args.alarm_action_timeout,
                     allow_networks=args.alarm_action_allow_network),
        EvaluatorOptions(interval=args.alarm_evaluation_interval,
                         max_per_tick=args.alarm_max_per_tick,
                         max_events_per_stack=args.max_events_per_stack),
        ready=lambda: "stoker-engine" in app.extensions)
    app.extensions[EVALUATOR] = evaluator
    return evaluator
