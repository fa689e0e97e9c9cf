"""The openstack driver's Aodh calls: alarms made, replaced and deleted in the cloud's
`alarming` service, as Heat makes them. openstacksdk has no alarm proxy, so these go through its
plain session for that service (the catalog's `alarming` endpoint, its v2 API found by
version discovery, Keystone's token), with the
body the alarm resource built (engine/resources/aodh.py: Aodh's API shape)."""
from __future__ import annotations

import json

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.drivers.openstack_base import OpenStackBase


def _fault(answer) -> str:
    """Aodh's error text: wsme puts a JSON document in `error_message`, its faultstring says it."""
    try:
        message = answer.json().get("error_message")
        if isinstance(message, str) and message.startswith("{"):
            message = json.loads(message)
        if isinstance(message, dict):
            message = message.get("faultstring") or message
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else answer.text[:300]


class AlarmCalls(OpenStackBase):
    # Aodh evaluates the alarms this driver makes; `stoker server --alarm-evaluator stoker`
    # turns this off, and the alarms are then stoker's own
    evaluates_alarms = True

    def _aodh(self, method: str, path: str, what: str, body: dict | None = None):
        answer = self.conn.alarm.request(path, method, json=body, raise_exc=False,
                                         headers={"Accept": "application/json"})
        if answer.status_code >= 400:
            error = CloudError(f"{what}: Aodh answered {answer.status_code}: {_fault(answer)}")
            error.status_code = answer.status_code
            raise error
        return answer

    def _create_alarm(self, name, body):
        alarm = self._aodh("POST", "/alarms", f"alarm {name}", body).json()
        return alarm["alarm_id"], alarm

    def _update_alarm(self, alarm_id, body):
        return self._aodh("PUT", f"/alarms/{alarm_id}", f"alarm {alarm_id}", body).json()

    def _delete_alarm(self, alarm_id):
        try:
            self._aodh("DELETE", f"/alarms/{alarm_id}", f"alarm {alarm_id}")
        except CloudError as exc:
            if getattr(exc, "status_code", None) != 404:   # already gone
                raise
