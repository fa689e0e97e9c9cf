"""`stoker agent redeploy ID`: run one deployment again, without touching the others.

Upstream's way was `rm /var/lib/heat-config/deployed/<id>.json` and waiting for the next change.
Here the deployment's state goes back to `received` (its previous result kept in its history), the
marker is removed, and a run is requested: the running agent does it on its next poll, or
`stoker agent --once` does it now. The new result is a new attempt; a server that already holds a
final status for the deployment keeps it (Heat's rule: only IN_PROGRESS changes).
"""
from __future__ import annotations

import argparse
import os
import sys

from agent.paths import Paths, root_from
from agent.state import RECEIVED, StateStore
from stoker_common import atomic


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("redeploy", help="run one deployment again on the next pass",
                            description="Mark deployment ID (its id, or its name when that is unique) to run "
                            "again; the running agent picks it up on its next poll, `stoker agent --once` at once.")
    parser.add_argument("deployment", metavar="ID", help="deployment id or name (see `stoker agent status`)")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    paths = Paths.under(root_from(getattr(args, "root", None)))
    try:
        ident = request(paths, args.deployment)
    except LookupError as exc:
        print(f"stoker agent redeploy: {exc}", file=sys.stderr)
        return 1
    print(f"deployment {ident} will run again on the agent's next pass "
          "(or now with `stoker agent --once`)")
    return 0


def request(paths: Paths, wanted: str) -> str:
    states = StateStore(paths.deployments_state_dir)
    known = list(states.all())
    matches = [s for s in known if s.id == wanted] or [s for s in known if s.name == wanted]
    marker = os.path.join(paths.deployed_dir, wanted + ".json")
    if len(matches) > 1:
        raise LookupError(f"{wanted!r} names {len(matches)} deployments ({', '.join(s.id for s in matches)}); "
                          "give the id")
    if not matches and not os.path.exists(marker):
        listed = ", ".join(f"{s.id} ({s.name})" for s in known) or "none"
        raise LookupError(f"no deployment {wanted!r} on this server (known: {listed})")
    if matches:
        state = matches[0]
        if state.state != RECEIVED:
            state.history.append({k: getattr(state, k) for k in (
                "state", "started_at", "finished_at", "status_code", "timed_out", "attempt", "signal",
                "signalled_at")})
        state.state, state.interrupted, state.hook_pid, state.hook_started = RECEIVED, 0, None, None
        state.status_code, state.timed_out, state.attempt = None, False, None
        state.signal = state.signal_detail = state.signalled_at = None
        state.started_at = state.finished_at = None
        states.put(state)
        ident = state.id
    else:
        ident = wanted
    for path in (os.path.join(paths.deployed_dir, ident + ".json"),
                 os.path.join(paths.deployed_dir, ident + ".notify.json")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    atomic.ensure_dir(paths.state_dir)
    atomic.write_text(paths.rerun_request, ident + "\n")
    return ident
