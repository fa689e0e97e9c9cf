"""How an alarm's state follows from the samples of its servers, as Aodh's threshold evaluators
decide it (reference: heat-scaling-cfn-lifecycle.md §7). Pure: samples and a time in, a
decision out; the evaluator (alarm_evaluator.py) reads and writes.

- `threshold` (OS::Aodh::Alarm, ceilometer statistics): the samples of every matching server
  pooled, in periods aligned on the query's start, `now - period × (evaluation_periods + 1)`;
  each period with samples gives the `statistic` of them.
- `gnocchi_aggregation_by_resources_threshold` (and `gnocchi_resources_threshold`, one
  server): each server's samples aggregated per
  `granularity` (periods aligned on the epoch, as Gnocchi's archives) with the aggregation
  method, then those of all servers with the same method (Gnocchi's `aggregate` with
  needed_overlap=0: a period where only some servers reported still counts); `rate:<m>` is the
  change of the `<m>` series from one period to the next.

Then the last `evaluation_periods` values are compared with the threshold: fewer → insufficient
data; all beyond → alarm; none → ok; mixed → the trend of the most recent.
"""
from __future__ import annotations

import math
import operator
import statistics
from dataclasses import dataclass
from typing import Callable

ALARM, OK, UNKNOWN = "alarm", "ok", "insufficient data"
THRESHOLD = "threshold"
BY_RESOURCES = "gnocchi_aggregation_by_resources_threshold"
ONE_RESOURCE = "gnocchi_resources_threshold"
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt, "le": operator.le, "eq": operator.eq, "ne": operator.ne,
    "ge": operator.ge, "gt": operator.gt}


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean, "avg": statistics.fmean, "sum": math.fsum, "min": min,
    "max": max, "count": len, "first": lambda v: v[0], "last": lambda v: v[-1],
    "median": statistics.median, "std": _std}
STATISTICS = ("count", "avg", "sum", "min", "max")                       # ceilometer's
METHODS = ("mean", "sum", "last", "max", "min", "std", "median", "first", "count")  # gnocchi's

Samples = list[tuple[float, dict[str, float]]]


@dataclass(frozen=True)
class Rule:
    kind: str
    metric: str
    period: int
    evaluation_periods: int
    threshold: float
    operator: str
    aggregate: str   # a ceilometer statistic or a gnocchi aggregation method

    @classmethod
    def from_body(cls, body: dict) -> "Rule":
        """The rule of an alarm in Aodh's API shape (defaults as Aodh's API applies them)."""
        kind = body["type"]
        rule = body[f"{kind}_rule"]
        common = dict(kind=kind, evaluation_periods=int(rule.get("evaluation_periods") or 1),
                      threshold=float(rule["threshold"]),
                      operator=rule.get("comparison_operator") or "eq")
        if kind == THRESHOLD:
            return cls(metric=rule["meter_name"], period=int(rule.get("period") or 60),
                       aggregate=rule.get("statistic") or "avg", **common)
        return cls(metric=rule["metric"], period=int(rule.get("granularity") or 60),
                   aggregate=rule["aggregation_method"], **common)

    def window(self) -> float:
        """How far back the evaluation looks: one period more than it compares (Aodh's)."""
        return float(self.period * (self.evaluation_periods + 1))


def datapoints(rule: Rule, windows: dict[str, Samples], now: float) -> list[float]:
    """The values the rule compares, oldest first (at most evaluation_periods)."""
    start = now - rule.window()
    if rule.kind == THRESHOLD:
        values = _pooled(rule, windows, start, now)
    elif rule.kind == ONE_RESOURCE:   # one server's own series, nothing across servers
        values = _by_resources(rule, dict(list(windows.items())[:1]), start, now, across=False)
    else:
        values = _by_resources(rule, windows, start, now)
    values = [v for v in values if not math.isnan(v)]
    return values[-rule.evaluation_periods:]


def _pooled(rule: Rule, windows: dict[str, Samples], start: float, now: float) -> list[float]:
    buckets: dict[int, list[float]] = {}
    for samples in windows.values():
        for t, values in samples:
            if rule.metric in values and start <= t <= now:
                index = min(int((t - start) // rule.period), rule.evaluation_periods)
                buckets.setdefault(index, []).append(values[rule.metric])
    compute = AGGREGATES[rule.aggregate]
    return [compute(buckets[i]) for i in sorted(buckets)]


def _by_resources(rule: Rule, windows: dict[str, Samples], start: float, now: float,
                  across: bool = True) -> list[float]:
    rate = rule.aggregate.startswith("rate:")
    compute = AGGREGATES[rule.aggregate[len("rate:"):] if rate else rule.aggregate]
    # Gnocchi aggregates across the series even when there is one (a count across them is
    # how many reported); a resources alarm reads its one series as it is
    across_servers = compute if across else (lambda values: values[0])
    g = rule.period
    first = math.floor(start / g) * g
    across: dict[float, list[float]] = {}
    for samples in windows.values():
        per_server: dict[float, list[float]] = {}
        for t, values in samples:
            if rule.metric in values and first <= t <= now:
                per_server.setdefault(math.floor(t / g) * g, []).append(values[rule.metric])
        for stamp, values in per_server.items():
            value = compute(values)
            if not math.isnan(value):
                across.setdefault(stamp, []).append(value)
    series = [across_servers(across[stamp]) for stamp in sorted(across)]
    if rate:
        series = [b - a for a, b in zip(series, series[1:])]
    return series


@dataclass(frozen=True)
class Decision:
    state: str            # the state the alarm is in after this evaluation
    reason: str
    reason_data: dict
    changed: bool         # a transition: recorded and notified
    notify: bool          # call the actions of `state`


def decide(rule: Rule, current: str, repeat_actions: bool, values: list[float]) -> Decision | None:
    """Aodh's transition rules; None when nothing is to be recorded or notified."""
    n = rule.evaluation_periods
    if len(values) < n:
        if current == UNKNOWN:
            return None
        return Decision(UNKNOWN, f"{n} datapoints are unknown",
                        {"type": "threshold", "disposition": "unknown", "count": n,
                         "most_recent": values[-1] if values else None}, True, True)
    compare = OPERATORS[rule.operator]
    beyond = [compare(v, rule.threshold) for v in values]
    outside = sum(beyond)
    if all(beyond) or not any(beyond):
        state = ALARM if all(beyond) else OK
    else:  # mixed: only an alarm with no data yet follows the trend
        trend = ALARM if beyond[-1] else OK
        if current == UNKNOWN:
            state = trend
        elif repeat_actions:
            state = current
        else:
            return None
    if state == current and not repeat_actions:
        return None
    return _definite(state, current, values, outside)


def _definite(state: str, current: str, values: list[float], outside: int) -> Decision:
    disposition, count = ("outside", outside) if state == ALARM else ("inside",
                                                                      len(values) - outside)
    most_recent = values[-1]
    verb = "Transition to" if state != current else "Remaining as"
    reason = (f"{verb} {state} due to {count} samples {disposition} threshold, most recent: "
              f"{most_recent}")
    data = {"type": "threshold", "disposition": disposition, "count": count,
            "most_recent": most_recent}
    return Decision(state, reason, data, state != current, True)
