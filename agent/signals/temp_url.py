"""TEMP_URL_SIGNAL: the result PUT as a Swift object at the temp URL in `deploy_signal_id`.

Swift stores whatever is PUT; Heat reads the object when it next shows the deployment. A temp URL
only accepts PUT, so the verb input is not consulted.
"""
from __future__ import annotations

from typing import Any

from agent.signals.url import UrlTransport


class TempUrlTransport(UrlTransport):
    name = "TEMP_URL_SIGNAL"

    def verb(self, values: dict[str, Any]) -> str:
        return "PUT"
