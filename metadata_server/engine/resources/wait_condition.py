"""OS::Heat::WaitConditionHandle and OS::Heat::WaitCondition.

A handle collects signals (POST .../resources/<handle>/signal, authorised by the signed URL the
handle hands out); a wait condition completes when `count` SUCCESS signals arrived, fails on the
first FAILURE, and times out after `timeout` seconds with "<n> of <count> received".
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

from metadata_server.engine.errors import Cancelled, RequestLimitExceeded, StackValidationFailed
from metadata_server.engine.limits import named
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service.credentials import sign

SIGNAL_KEYS = {"status", "reason", "data", "id"}


class WaitConditionFailed(Exception):
    error_type = "WaitConditionFailure"


class WaitConditionTimeout(Exception):
    error_type = "WaitConditionTimeout"


def handle_signature(signing_key: str, stack_id: str, resource: str) -> str:
    return sign(signing_key, "waitcondition", stack_id, resource)


def record_signal(signals: dict, body, limits) -> dict:
    """Heat's rules: defaults, then exactly the four keys; a repeated id overwrites. Refused
    when the handle's signals would outgrow max_handle_signal_size (each new id adds one, and
    the handle keeps them all)."""
    body = dict(body or {}) if isinstance(body, dict) else {"data": body}
    count = len(signals) + 1
    body.setdefault("status", "SUCCESS")
    body.setdefault("reason", f"Signal {count} received")
    body.setdefault("data", None)
    body.setdefault("id", str(count))
    if set(body) != SIGNAL_KEYS:
        raise StackValidationFailed("Metadata format invalid")
    if body["status"] not in ("SUCCESS", "FAILURE"):
        raise StackValidationFailed(f"status must be SUCCESS or FAILURE, got {body['status']!r}")
    signals = dict(signals)
    signals[str(body["id"])] = {"data": body["data"], "reason": body["reason"],
                                "status": body["status"]}
    size = len(json.dumps(signals))
    if size > limits.max_handle_signal_size:
        raise RequestLimitExceeded(
            f"The signals of this wait condition handle would take {size} characters, more "
            f"than the limit ({named(limits, 'max_handle_signal_size')})")
    return signals


class WaitConditionHandle(Resource):
    type_name = "OS::Heat::WaitConditionHandle"
    properties_schema = {"signal_transport": Prop("string", default="TOKEN_SIGNAL")}
    attributes_schema = ("token", "endpoint", "curl_cli", "signal")
    restore_keys = ("signals",)

    def handle_create(self, token):
        self.physical_id = str(uuid.uuid4())
        self.data["signals"] = {}

    def handle_signal(self, body):
        self.data["signals"] = record_signal(self.data.get("signals") or {}, body,
                                             self.ctx.limits)

    def handle_delete(self, token):
        self.data["signals"] = {}

    def _url(self) -> str:
        endpoint = self.ctx.endpoints.resource_signal_url(self.ctx.tenant, self.ctx.stack_name,
                                                          self.ctx.stack_id, self.name)
        return f"{endpoint}?sig={self._token()}"

    def _token(self) -> str:
        return handle_signature(self.ctx.endpoints.signing_key, self.ctx.stack_id, self.name)

    def attribute(self, name):
        if name in ("token", "endpoint", "curl_cli", "signal") and not self.physical_id:
            # not before the handle exists (as in Heat): a signal sent while it is being
            # created would be overwritten by the create's own result and lost
            return None
        if name == "token":
            return self._token()
        if name == "endpoint":
            return self._url()
        if name == "curl_cli":
            return ("curl -i -X POST -H 'Content-Type: application/json' "
                    f"-H 'Accept: application/json' '{self._url()}'")
        if name == "signal":
            return json.dumps({"alarm_url": self._url()})
        return super().attribute(name)


class WaitCondition(Resource):
    type_name = "OS::Heat::WaitCondition"
    properties_schema = {"handle": Prop("string", required=True),
                         "timeout": Prop("number", required=True, update_allowed=True),
                         "count": Prop("integer", default=1, update_allowed=True)}
    attributes_schema = ("data",)
    restore_keys = ("signals",)

    @classmethod
    def check(cls, name, properties):
        if not 1 <= properties["timeout"] <= 43200:
            raise StackValidationFailed(f"{properties['timeout']} is out of range "
                                        "(min: 1, max: 43200)",
                                        f"resources.{name}.properties.timeout")

    def _signals(self) -> dict:
        row = self.ctx.finder.find_resource(self.ctx.stack_id, self.properties["handle"])
        return ((row or {}).get("data") or {}).get("signals") or {}

    def _wait(self, token, since: datetime | None = None) -> None:
        """Until `count` signals; the timeout counts from `since` (when the wait began)."""
        waited = 0.0 if since is None else (self.ctx.clock() - since).total_seconds()
        # stored now, so a wait an engine restart interrupts goes on with the time left
        self.data["waiting_since"] = (since or self.ctx.clock()).isoformat()
        self.checkpoint()
        try:
            self._wait_for_signals(token, waited)
        finally:
            self.data.pop("waiting_since", None)

    def _wait_for_signals(self, token, waited: float) -> None:
        count = self.properties["count"]
        while True:
            signals = self._signals()
            failures = [s["reason"] for s in signals.values() if s["status"] != "SUCCESS"]
            if failures:
                raise WaitConditionFailed(";".join(failures))
            if len(signals) >= count:
                self.data["signals"] = signals
                return
            if waited >= self.properties["timeout"]:
                reasons = [s["reason"] for s in signals.values()]
                raise WaitConditionTimeout(f"{len(signals)} of {count} received"
                                           + (f" - {';'.join(reasons)}" if reasons else ""))
            step = max(0.0, min(self.ctx.poll_interval, self.properties["timeout"] - waited))
            if token.wait(step):
                raise Cancelled(token.reason)
            waited += step

    def handle_create(self, token):
        self.physical_id = self.physical_name()
        self._wait(token)

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self._wait(token)

    def can_continue(self, step):
        # signals that arrived while the engine was down are in the handle's stored data
        return step in ("CREATE", "UPDATE") and "waiting_since" in self.data

    def continue_interrupted(self, step, token):
        self._wait(token, datetime.fromisoformat(self.data["waiting_since"]))

    def attribute(self, name):
        if name == "data":
            signals = self.data.get("signals") or self._signals()
            return json.dumps({k: v["data"] for k, v in signals.items()})
        return super().attribute(name)
