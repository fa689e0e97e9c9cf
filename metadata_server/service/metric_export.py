"""Agents' newest samples as Prometheus gauges, for an operator who scrapes /metrics with a token.

Without a token /metrics shows only the process's own gauges: it is open to load balancers, and
tenants' figures are theirs. With an operator token it adds each server's newest value of every
metric its agent sent, for the token's tenant (an unscoped token: every tenant's), so one scrape
job gets what the alarms see without a monitoring stack beside stoker.
"""
from __future__ import annotations

# the most servers one scrape lists (the servers with the newest batches); a scrape's size is
# then bounded by this times the 64 metrics a sample may carry
MAX_SERVERS = 5000


def _label(value: str) -> str:
    # Prometheus' text format: backslash, double quote and newline are escaped in label values
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def agent_gauges(rows) -> dict[str, float]:
    """rows: (server id, tenant, time, {name: value}) as MetricWindow.latest_per_server gives."""
    gauges: dict[str, float] = {}
    for server_id, tenant, at, values in rows:
        labels = f'tenant="{_label(tenant)}",server_id="{_label(server_id)}"'
        gauges[f"stoker_agent_sample_time_seconds{{{labels}}}"] = at
        for name, value in values.items():
            gauges[f'stoker_agent_metric{{{labels},metric="{_label(name)}"}}'] = value
    return gauges
