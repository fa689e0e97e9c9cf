"""`stoker server --workers N`: the same app under gunicorn for production.

The workers are gunicorn's gthread workers that read each request in their event loop before a
thread takes it (http_worker.HeadFirstWorker): slow or half-open clients hold no thread; and
that hold long polls in that loop (watch_worker.WatchWorker): waiting agents hold none either.
"""
from __future__ import annotations

import argparse
import resource
import sys
from typing import Callable

from gunicorn.app.base import BaseApplication

from metadata_server.keepalive import KEEPALIVE_SECONDS


class StokerGunicorn(BaseApplication):
    def __init__(self, options: dict, build: Callable):
        self.options, self.build = options, build
        self.background = self.flask_app = None
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn lacks some settings
                self.cfg.set(key, value)

    def load(self):
        # runs in each worker after the fork: its own database pool and background thread
        self.flask_app, self.background = self.build()
        self.background.start()
        return self.flask_app


def _when_ready(server):
    for listener in server.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        print(f"stoker server listening on http://{host}:{port}", flush=True)


def _worker_exit(server, worker):
    flask_app = getattr(worker.app, "flask_app", None)
    if flask_app is not None:
        from metadata_server.api.app_engine import release_engine
        release_engine(flask_app)  # another worker's engine resumes its operations
    background = getattr(worker.app, "background", None)
    if background is not None:
        background.stop()  # flushes last-seen times


def worker_class(client_timeout: float) -> type:
    from metadata_server.watch_worker import WatchWorker

    return type("WatchWorker", (WatchWorker,), {"client_timeout": client_timeout})


FD_RESERVE = 256  # a worker's files besides its clients: database, logs, pipes, the engine's


def worker_connections() -> int:
    """As many connections per worker as its open-file limit allows, raised to the hard limit
    first: each held long poll is one. Past it a worker stops accepting (another takes them)
    rather than failing accept() with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= target:
        target = soft if soft != resource.RLIM_INFINITY else 1 << 16
    else:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
    return max(target - FD_RESERVE, 100)


def serve(args: argparse.Namespace, host: str, port: int, build: Callable) -> int:
    options = {
        "bind": f"{host}:{port}", "workers": args.workers, "threads": args.threads,
        "worker_connections": worker_connections(), "backlog": 4096,
        "worker_class": worker_class(args.client_timeout),
        "when_ready": _when_ready, "worker_exit": _worker_exit,
        # agents' requests only carry paths worth logging; signatures stay out of the log
        "accesslog": None, "errorlog": "-", "loglevel": args.log_level.lower(),
        "graceful_timeout": 5, "timeout": 90, "keepalive": KEEPALIVE_SECONDS,
        # nothing of ours lives outside the state directory
        "control_socket_disable": True,
    }
    StokerGunicorn(options, build).run()
    return 0


if __name__ == "__main__":
    sys.exit("run `stoker server --workers N` instead")
