"""AWS::CloudFormation::WaitConditionHandle / WaitCondition: the handle's pre-signed
/v1/waitcondition/ URL takes CFN signals (PUT, four keys) and completes or fails the condition."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from engine_helpers import ADMIN, hot, wait_for

pytestmark = pytest.mark.timeout(60)


def template(count=2, timeout=30):
    return hot({"handle": {"type": "AWS::CloudFormation::WaitConditionHandle"},
                "wait": {"type": "AWS::CloudFormation::WaitCondition", "properties": {
                    "Handle": {"get_resource": "handle"}, "Timeout": timeout, "Count": count}}},
               {"url": {"value": {"get_resource": "handle"}},
                "data": {"value": {"get_attr": ["wait", "Data"]}}})


def start(app, name="cfnwait", **kw):
    client = app.test_client()
    response = client.post("/v1/t1/stacks", json={"stack_name": name, "template": template(**kw)},
                           headers={"X-Auth-Token": ADMIN})
    assert response.status_code == 201, response.json
    stack_id = response.json["stack"]["id"]
    engine = app.extensions["stoker-engine"]
    stack = engine.get_stack("t1", stack_id)
    # until the handle exists, get_resource gives its name
    url = wait_for(lambda: (lambda v: v if str(v).startswith("http") else None)(
        engine.outputs(stack, "url")[0].get("output_value")), what="the handle URL")
    parts = urlsplit(url)
    return client, engine, stack_id, f"{parts.path}?{parts.query}", url


def signal(unique, status="SUCCESS", data="d"):
    return {"Status": status, "Reason": f"reason {unique}", "UniqueId": unique, "Data": data}


def test_two_cfn_signals_complete_the_condition(app):
    client, engine, stack_id, path, url = start(app)
    assert url.startswith(f"http://stoker.test/v1/waitcondition/arn%3Aopenstack%3Aheat%3A%3At1%3Astacks/cfnwait/{stack_id}/resources/handle?sig=")
    first = client.put(path, json=signal("a", data="one"))  # no token: the URL is the credential
    assert first.status_code == 200, first.json
    assert first.json == {"a": {"Status": "SUCCESS", "Reason": "reason a", "Data": "one", "UniqueId": "a"}}
    assert engine.get_stack("t1", stack_id)["status"] == "IN_PROGRESS"
    assert client.put(path, json=signal("b", data="two")).status_code == 200
    stack = engine.wait(stack_id, 30)
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["data"] == '{"a": "one", "b": "two"}'


def test_failure_signal_fails_the_condition_with_its_reason(app):
    client, engine, stack_id, path, _ = start(app, count=1)
    assert client.put(path, json=signal("x", status="FAILURE")).status_code == 200
    stack = engine.wait(stack_id, 30)
    assert stack["status"] == "FAILED" and "reason x" in stack["status_reason"]


@pytest.mark.parametrize("body, message", [
    ({"Status": "SUCCESS"}, "missing Reason, UniqueId, Data"),
    ({**signal("a"), "Extra": 1}, "unexpected Extra"),
    ({**signal("a"), "Status": "DONE"}, "status must be SUCCESS or FAILURE"),
])
def test_malformed_cfn_signal_is_400(app, body, message):
    client, engine, stack_id, path, _ = start(app, count=1)
    response = client.put(path, json=body)
    assert response.status_code == 400 and message in response.json["error"]["message"]
    assert engine.get_stack("t1", stack_id)["status"] == "IN_PROGRESS"
    engine.cancel("t1", stack_id, rollback=False)


def test_bad_signature_or_arn_is_refused(app):
    client, engine, stack_id, path, _ = start(app, count=1)
    base = path.partition("?")[0]
    assert client.put(f"{base}?sig=0000", json=signal("a")).status_code == 403
    assert client.put(base, json=signal("a")).status_code == 403
    assert client.put("/v1/waitcondition/not-an-arn?sig=00", json=signal("a")).status_code == 404
    # a signature is for one handle: it does not open another resource's path
    other = base.replace("/resources/handle", "/resources/wait")
    assert client.put(f"{other}?{path.partition('?')[2]}", json=signal("a")).status_code == 403
    assert engine.get_stack("t1", stack_id)["status"] == "IN_PROGRESS"
    engine.cancel("t1", stack_id, rollback=False)
