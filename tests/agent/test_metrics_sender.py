"""Where samples go (derived from the collectors' settings) and how each answer is taken."""
import json

import pytest

from agent.metrics.sender import DROP, RETRY, SENT, KeystoneTarget, Sender, Target, target_from
from stoker_common.keystone import Credentials
from agent.metrics.system import NAMES, SystemMetrics

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("collectors, settings, url, headers", [
    (["request"], {"request": {"metadata_url": "https://h:8004/v1/metadata/srv-1?sig=abc"}},
     "https://h:8004/v1/metadata/srv-1/metrics?sig=abc", {}),
    (["watch"], {"watch": {"metadata_url": "http://h/v1/ten/servers/srv-1/metadata", "auth_token": "tok"}},
     "http://h/v1/ten/servers/srv-1/metrics", {"X-Auth-Token": "tok"}),
    (["heat", "watch", "request"],
     {"heat": {"auth_url": "http://k/v3"}, "request": {"metadata_url": "http://h/v1/metadata/s?sig=x"},
      "watch": {"metadata_url": "http://h/prefix/v1/t/servers/s/metadata/", "auth_token": "tok"}},
     "http://h/prefix/v1/t/servers/s/metrics", {"X-Auth-Token": "tok"}),
    # not stoker's URLs, or no credential: nowhere to send
    (["request"], {"request": {"metadata_url": "http://swift/v1/AUTH_x/c/o?temp_url_sig=1"}}, None, None),
    (["request"], {"request": {"metadata_url": "http://h/v1/metadata/s"}}, None, None),
    (["watch"], {"watch": {"metadata_url": "http://h/v1/t/servers/s/metadata"}}, None, None),
    (["heat", "cfn"], {"heat": {}, "cfn": {"metadata_url": "http://h/v1/"}}, None, None),
])
def test_the_url_is_derived_from_the_first_stoker_collector(collectors, settings, url, headers):
    target = target_from(collectors, settings)
    if url is None:
        assert target is None
    else:
        assert (target.url, dict(target.headers)) == (url, headers)


def test_the_signature_never_shows():
    assert Target("http://h/v1/metadata/s/metrics?sig=secret").shown == "http://h/v1/metadata/s/metrics?sig=***"


@pytest.mark.parametrize("status, headers, result, retry_after", [
    (202, {}, SENT, None),
    (400, {}, DROP, None),
    (413, {}, DROP, None),
    (429, {"Retry-After": "7"}, RETRY, 7.0),
    (503, {}, RETRY, None),
    (404, {}, RETRY, None),
    (401, {}, RETRY, None),
])
def test_each_answer_is_sent_dropped_or_retried(http_server, status, headers, result, retry_after):
    http_server.respond(status, b'{"error": "reason here"}', headers)
    target = Target(http_server.url("/v1/metadata/s/metrics?sig=abc"))
    outcome = Sender(target).post(b'{"samples": []}')
    assert (outcome.result, outcome.retry_after) == (result, retry_after)
    request = http_server.wait_for(1)[0]
    assert (request.method, request.path, request.headers["content-type"]) == (
        "POST", "/v1/metadata/s/metrics?sig=abc", "application/json")
    if result != SENT:
        assert outcome.detail.endswith(f"/v1/metadata/s/metrics?sig=***: {status} {{\"error\": \"reason here\"}}")


def test_no_answer_is_a_retry_without_secrets(closed_url):
    outcome = Sender(Target(closed_url("/v1/metadata/s/metrics?sig=secret")), timeout=5).post(b"{}")
    assert outcome.result == RETRY and "secret" not in outcome.detail and "sig=***" in outcome.detail


def test_the_token_goes_in_its_header(http_server):
    http_server.respond(202, b'{"accepted": 1}')
    Sender(Target(http_server.url("/v1/t/servers/s/metrics"), {"X-Auth-Token": "tok"})).post(b'{"samples": []}')
    assert http_server.wait_for(1)[0].headers["x-auth-token"] == "tok"


def test_the_built_in_sample_has_the_contract_names_and_plausible_values(tmp_path):
    system = SystemMetrics(str(tmp_path))
    sample = system.sample()
    assert sorted(sample) == sorted(NAMES)
    for name in ("cpu_util", "memory_util", "disk_util"):
        assert 0.0 <= sample[name] <= 100.0
    assert sample["memory.usage"] > 0 and sample["load1"] >= 0
    json.dumps(sample, allow_nan=False)


def test_a_built_in_reader_that_fails_costs_only_its_metrics(tmp_path, caplog):
    system = SystemMetrics(str(tmp_path / "gone"))
    assert "disk_util" not in system.sample() and "cpu_util" in system.sample()
    assert len([r for r in caplog.records if "cannot read disk" in r.getMessage()]) == 1



def test_heat_credentials_give_a_keystone_target_only_when_complete():
    heat = {"auth_url": "http://k:5000/v3", "user_id": "srv-1", "password": "pw-secret", "project_id": "ten",
            "region_name": "R2"}
    target = target_from(["heat", "watch"], {"heat": heat, "watch": {}})
    assert isinstance(target, KeystoneTarget)
    assert (target.credentials.user_id, target.credentials.project_id, target.region) == ("srv-1", "ten", "R2")
    assert "pw-secret" not in target.shown and "srv-1" in target.shown
    assert target_from(["heat"], {"heat": dict(heat, project_id="")}) is None


def test_keystone_that_cannot_be_reached_is_a_retry(closed_url):
    target = KeystoneTarget(Credentials(closed_url("/v3"), "pw-secret", user_id="s", project_id="t"))
    outcome = Sender(target).post(b'{"samples": []}')
    assert outcome.result == RETRY and "keystone" in outcome.detail and "pw-secret" not in outcome.detail
