"""CFN_SIGNAL: the result as JSON to the pre-signed `deploy_signal_id`, POST unless
`deploy_signal_verb` says PUT (heat-config-notify's rule; stoker's own signal URLs take either)."""
from __future__ import annotations

from agent.signals.url import UrlTransport


class CfnTransport(UrlTransport):
    name = "CFN_SIGNAL"
