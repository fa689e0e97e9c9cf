"""`heat-config-notify /path/to/config.json < signal.json`: upstream's command line, backed by the outbox.

The config file is a deployment item (as 55-heat-config passes its `deployed/<id>.json`); stdin is
the result (not JSON -> `{}`, as upstream). The result is written to the agent's outbox before it
is sent with the transport the item's inputs select, so if the server cannot be reached now, a
running `stoker agent` (same --root, i.e. `$STOKER_AGENT_ROOT` or /) delivers it later.

Exit status: 0 when the result was delivered, queued for a later try, or there is nothing to send
(NO_SIGNAL); 1 for a usage error, an unreadable config file, or a result the server refused.
"""
from __future__ import annotations

import json
import logging
import sys

from agent.deployment import InvalidDeployment, deployment_id
from agent.outbox import REJECTED, Outbox
from agent.paths import Paths, root_from
from agent.state import StateStore

log = logging.getLogger("heat-config-notify")
USAGE = "usage: heat-config-notify /path/to/config.json < signal.json"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s heat-config-notify %(levelname)s %(message)s")
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 1
    path = argv[0]
    try:
        with open(path, encoding="utf-8") as f:
            item = json.load(f)
        deployment_id(item)
    except OSError as exc:
        log.error("%s: cannot read config file: %s", path, exc.strerror or exc)
        return 1
    except (ValueError, InvalidDeployment) as exc:
        log.error("%s: not a deployment item: %s", path, exc)
        return 1
    text = sys.stdin.read()
    try:
        payload = json.loads(text) if text.strip() else {}
    except ValueError:
        log.warning("signal data on stdin is not JSON; sending {}")
        payload = {}
    if not isinstance(payload, dict):
        log.warning("signal data on stdin is not a JSON object; sending {}")
        payload = {}
    paths = Paths.under(root_from(None))
    states = StateStore(paths.deployments_state_dir)
    outcome = Outbox(paths.outbox_dir, listener=states.mark_signalled).deliver(item, payload)
    return 1 if outcome == REJECTED else 0


if __name__ == "__main__":
    sys.exit(main())
