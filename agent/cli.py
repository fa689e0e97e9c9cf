"""`stoker agent`: run the in-guest agent (collect, deploy, signal), and its operator commands.

`stoker agent` with no subcommand is the daemon (`--once` for one pass); `status`, `redeploy ID`
and `doctor` look at (or act on) the same files under --root.
"""
from __future__ import annotations

import argparse
import logging
import sys

from agent import settings
from agent.loop import Agent
from agent.outbox import Outbox
from agent.paths import ROOT_ENV, Paths, root_from
from agent.runner import DEFAULT_TAIL, DeploymentRunner
from agent.shutdown import Shutdown, Stopped
from agent.signals.native import PhaseReporter
from agent.state import StateStore
from collector import config as agent_config
from collector import registry
from collector.cache import Cache
from collector.errors import ConfigError
from stoker_common.backoff import Backoff

log = logging.getLogger("agent")

LOG_FORMAT = "%(asctime)s stoker-agent %(levelname)s %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DESCRIPTION = """\
Poll the metadata server for this server's deployments, apply each new one with the hook named by
its group (script, or an executable in $HEAT_CONFIG_HOOKS, /usr/libexec/heat-config/hooks,
/var/lib/heat-config/hooks) and signal the result back. Files are where os-collect-config and
heat-config keep them, under --root.
"""

EPILOG = """\
config file (os-collect-config.conf format):
  [DEFAULT]
  collectors = watch
  polling_interval = 30
  min_polling_interval = 1

  [watch]
  metadata_url = http://SERVER:8004/v1/TENANT/servers/SERVER_ID/metadata
  auth_token = SERVER_TOKEN

  [agent]                  # optional; the flags below override it
  deploy_timeout = 3600
  signal_retry_max = 300
  kill_grace = 5
  # on: send CPU, memory, load, disk and metrics.d scripts' metrics for the server's alarms
  metrics = off
  metrics_interval = 60
  metrics_batch = 60
  metrics_dir = /etc/stoker/metrics.d

commands:
  stoker agent [--once]        the daemon (or one pass)
  stoker agent status          where every deployment stands: state, exit code, duration, last signal
  stoker agent redeploy ID     run deployment ID (its id or name) again on the next pass
  stoker agent doctor          check configuration, server reachability, credentials, hooks, clock

exit status: 0 when stopped by SIGTERM/SIGINT, or with --once when a run completed (a failing
deployment is reported to the server, not here); 1 when --once could not collect or run; 2 for a
bad config file.
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", metavar="DIR",
                        help=f"directory that stands for / for every agent file (default: ${ROOT_ENV} or /)")
    parser.add_argument("--config-file", metavar="FILE",
                        help="config file (default: ROOT/etc/os-collect-config.conf)")
    parser.add_argument("--once", action="store_true",
                        help="run one iteration (collect, deploy, signal) and exit")
    parser.add_argument("--polling-interval", type=_seconds, metavar="S",
                        help="longest sleep between polls in seconds (overrides the config file; default 30)")
    parser.add_argument("--min-polling-interval", type=_seconds, metavar="S",
                        help="first and shortest sleep between polls in seconds (overrides the config file; default 1)")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="INFO", metavar="LEVEL",
                        help="one of %s (default INFO)" % ", ".join(LOG_LEVELS))
    parser.add_argument("--deploy-timeout", type=_seconds, metavar="S",
                        help="seconds a hook may run when the deployment has no deploy_timeout input "
                        "(overrides [agent] deploy_timeout; default 3600); then its process group is "
                        "killed and status 124 reported")
    parser.add_argument("--signal-retry-max", type=_seconds, metavar="S",
                        help="longest wait between tries of an undelivered signal (overrides [agent] "
                        "signal_retry_max; default 300)")
    parser.add_argument("--kill-grace", type=_seconds, metavar="S",
                        help="seconds between SIGTERM and SIGKILL of a timed-out hook (overrides [agent] "
                        "kill_grace; default 5)")
    parser.add_argument("--metrics", action=argparse.BooleanOptionalAction, default=None,
                        help="send this server's metrics to the server for its alarms (overrides [agent] "
                        "metrics; default off)")
    parser.add_argument("--metrics-interval", type=_seconds, metavar="S",
                        help="seconds between samples (overrides [agent] metrics_interval; default 60)")
    parser.add_argument("--metrics-batch", type=_seconds, metavar="S",
                        help="seconds between sends of the samples taken (overrides [agent] metrics_batch; "
                        "default 60)")
    parser.add_argument("--metrics-dir", metavar="DIR",
                        help="executables that print `NAME VALUE` lines (overrides [agent] metrics_dir; "
                        "default ROOT/etc/stoker/metrics.d)")
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="agent_command", metavar="[COMMAND]")
    from agent import doctor, redeploy, status  # noqa: E402  (each registers itself)
    for module in (status, redeploy, doctor):
        command = module.register(sub)
        # Given after the subcommand too; SUPPRESS keeps a value given before it.
        command.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS,
                             help=f"directory that stands for / (default: ${ROOT_ENV} or /)")
        command.add_argument("--config-file", metavar="FILE", default=argparse.SUPPRESS,
                             help="config file (default: ROOT/etc/os-collect-config.conf)")


def build(args: argparse.Namespace, paths: Paths, config: agent_config.AgentConfig,
          own: settings.AgentSettings | None = None) -> Agent:
    """The daemon's parts, wired: collectors, cache, outbox -> state store, runner."""
    own = own or settings.AgentSettings()

    def choose(name: str):
        return _choose(args, own, name)

    states = StateStore(paths.deployments_state_dir)
    outbox = Outbox(paths.outbox_dir, retry_max=choose("signal_retry_max"), listener=states.mark_signalled)
    metadata_url = (config.settings.get("watch") or {}).get("metadata_url")
    runner = DeploymentRunner(paths, outbox, states=states, default_timeout=choose("deploy_timeout"),
                              tail_limit=DEFAULT_TAIL, phases=PhaseReporter(metadata_url),
                              kill_grace=choose("kill_grace"))
    cache = Cache(paths.resolve(config.cachedir) if config.cachedir else paths.cachedir)
    return Agent(registry.build(config.collectors, config.settings), cache, runner, outbox)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    paths = Paths.under(root_from(args.root))
    try:
        config = agent_config.load(args.config_file or paths.config_file)
        own = settings.load(args.config_file or paths.config_file)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    polling = args.polling_interval or config.polling_interval
    minimum = args.min_polling_interval or config.min_polling_interval
    agent = build(args, paths, config, own)

    with Shutdown() as shutdown:
        agent.interruptible = shutdown.interruptible
        if args.once:
            return _once(agent)
        log.info("started: collectors %s, polling every %gs to %gs, root %s", ", ".join(config.collectors),
                 minimum, polling, paths.root)
        metrics = _metrics(args, paths, config, own)
        try:
            return agent.run_forever(Backoff(minimum, polling), shutdown.sleep)
        finally:
            if metrics is not None:
                metrics.stop()


def _metrics(args: argparse.Namespace, paths: Paths, config: agent_config.AgentConfig,
             own: settings.AgentSettings):
    """The metrics thread, started, when metrics are on (agent/metrics/); None when off."""
    if not _choose(args, own, "metrics"):
        return None
    from agent.metrics import wiring  # noqa: E402  (psutil and the rest only when metrics are on)
    reporter = wiring.build(_choose(args, own, "metrics_interval"), _choose(args, own, "metrics_batch"),
                            paths.resolve(_choose(args, own, "metrics_dir")), paths.root, config.collectors,
                            config.settings)
    return reporter.start() if reporter is not None else None


def _choose(args: argparse.Namespace, own: settings.AgentSettings, name: str):
    """A flag given on the command line wins over the [agent] section (and its defaults)."""
    flag = getattr(args, name, None)
    return flag if flag is not None else getattr(own, name)


def setup_logging(level: str) -> None:
    """One line per event on stderr. Replaces only the handler this function installed before, so
    an embedding process (or a test runner) keeps its own handlers."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_stoker_agent", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler._stoker_agent = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def _once(agent: Agent) -> int:
    try:
        result = agent.iterate()
    except Stopped:
        log.error("stopped before the run completed")
        return 1
    if not result.answered:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in result.unavailable) or "none is configured"
        log.error("no collector could collect (%s)", reasons)
        return 1
    for name, reason in result.unavailable:
        log.warning("collector %s: %s", name, reason)
    return 0 if result.completed else 1


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value
