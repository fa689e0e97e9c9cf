"""heat and zaqar collectors through stoker_common's keystone client, against recorded exchanges
replayed on loopback."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collector.errors import SourceNotAvailable, SourceNotConfigured
from collector.heat import HeatCollector
from collector.merger import explode
from collector.zaqar import ZaqarCollector
from stoker_common.http_client import HttpClient
from stoker_common.keystone import EXPIRY_MARGIN, Keystone

EXCHANGES = json.loads((Path(__file__).parent / "fixtures" / "openstack_exchanges.json").read_text())
PASSWORD = "s3cret-pw"


def use(replay, *names, **changes):
    for name in names:
        exchange = dict(EXCHANGES[name], **changes.get(name, {}))
        replay.add(exchange["method"], exchange["path"], exchange["status"], exchange["body"],
                   exchange.get("headers"))


def heat_settings(replay, **overrides):
    settings = {"auth_url": replay.base + "/identity/v3", "user_id": "u-1", "password": PASSWORD,
                "project_id": "p-1", "stack_id": "web/5f1c", "resource_name": "server",
                "region_name": None, "timeout": 5.0}
    settings.update(overrides)
    return settings


@pytest.mark.timeout(30)
def test_heat_metadata_with_token_reuse(replay):
    use(replay, "keystone_token", "heat_metadata")
    collector = HeatCollector(heat_settings(replay))
    first = collector.collect()
    assert first == [("heat", EXCHANGES["heat_metadata"]["body"]["metadata"])]
    assert collector.collect() == first
    methods = [(r["method"], r["path"]) for r in replay.requests]
    # one authentication for two polls (upstream authenticated on every poll)
    assert methods.count(("POST", "/identity/v3/auth/tokens")) == 1
    auth = json.loads(next(r for r in replay.requests if r["method"] == "POST")["body"])
    identity = auth["auth"]["identity"]
    assert identity["methods"] == ["password"]
    assert identity["password"]["user"] == {"id": "u-1", "password": PASSWORD}
    assert auth["auth"]["scope"] == {"project": {"id": "p-1"}}
    gets = [r for r in replay.requests if r["path"].startswith("/heat-api/")]
    assert len(gets) == 2 and all(r["headers"]["x-auth-token"] == "gAAAAAB-recorded-token" for r in gets)


@pytest.mark.timeout(30)
def test_heat_explodes_os_apply_config_deployments(replay):
    use(replay, "keystone_token", "heat_metadata")
    [(key, metadata)] = HeatCollector(heat_settings(replay)).collect()
    assert [k for k, _ in explode(key, metadata)] == ["heat", "dep-config"]


@pytest.mark.timeout(30)
def test_heat_region_picks_the_catalog_endpoint(replay):
    use(replay, "keystone_token", "heat_metadata_region_two")
    assert HeatCollector(heat_settings(replay, region_name="RegionTwo")).collect() == [("heat", {"region": "two"})]


@pytest.mark.timeout(30)
def test_heat_v2_auth_url_is_pointed_at_v3(replay):
    use(replay, "keystone_token", "heat_metadata")
    collector = HeatCollector(heat_settings(replay, auth_url=replay.base + "/identity/v2.0"))
    assert collector.collect()[0][0] == "heat"


@pytest.mark.timeout(30)
def test_heat_auth_failure_is_unavailable_without_the_password(replay):
    replay.add("POST", "/identity/v3/auth/tokens", 401,
               {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})
    with pytest.raises(SourceNotAvailable) as err:
        HeatCollector(heat_settings(replay)).collect()
    assert "refused the credentials (401)" in err.value.reason
    assert err.value.reason.startswith("heat metadata of web/5f1c/server: keystone ")
    assert PASSWORD not in err.value.reason


@pytest.mark.timeout(30)
def test_heat_token_refused_by_heat_is_renewed_once(replay):
    # keystone's token was revoked before its expiry: heat answers 401, the collector
    # authenticates again and asks again, once
    use(replay, "keystone_token")
    replay.add("GET", EXCHANGES["heat_metadata"]["path"], 401, {"error": {"code": 401}}, times=1)
    use(replay, "heat_metadata")
    collector = HeatCollector(heat_settings(replay))
    assert collector.collect()[0][0] == "heat"
    assert [(r["method"], r["path"].split("/")[1]) for r in replay.requests] == [
        ("POST", "identity"), ("GET", "heat-api"), ("POST", "identity"), ("GET", "heat-api")]


@pytest.mark.timeout(30)
def test_heat_answering_401_twice_is_unavailable(replay):
    use(replay, "keystone_token")
    replay.add("GET", EXCHANGES["heat_metadata"]["path"], 401, {"error": {"code": 401}})
    with pytest.raises(SourceNotAvailable, match=r"web/5f1c/server: HTTP 401"):
        HeatCollector(heat_settings(replay)).collect()
    assert len(replay.requests) == 4


@pytest.mark.timeout(30)
def test_heat_auth_url_without_version_gets_v3(replay):
    use(replay, "keystone_token", "heat_metadata")
    collector = HeatCollector(heat_settings(replay, auth_url=replay.base + "/identity/"))
    assert collector.collect()[0][0] == "heat"
    assert replay.requests[0]["method"] == "POST" and replay.requests[0]["path"] == "/identity/v3/auth/tokens"


@pytest.mark.timeout(30)
def test_heat_unreachable_keystone_is_unavailable(replay):
    settings = heat_settings(replay, auth_url="http://127.0.0.1:9/v3")
    with pytest.raises(SourceNotAvailable, match=r"keystone http://127.0.0.1:9/v3/auth/tokens: connection refused"):
        HeatCollector(settings).collect()


@pytest.mark.timeout(30)
def test_heat_no_endpoint_in_the_region(replay):
    use(replay, "keystone_token")
    with pytest.raises(SourceNotAvailable, match="no public orchestration endpoint in region Mars"):
        HeatCollector(heat_settings(replay, region_name="Mars")).collect()


@pytest.mark.timeout(30)
def test_heat_404_names_stack_and_resource(replay):
    use(replay, "keystone_token")
    with pytest.raises(SourceNotAvailable, match=r"web/5f1c/server: HTTP 404"):
        HeatCollector(heat_settings(replay)).collect()


@pytest.mark.parametrize("missing", ["auth_url", "password", "project_id", "user_id", "stack_id", "resource_name"])
def test_heat_each_required_option(missing):
    settings = {"auth_url": "http://127.0.0.1:9/v3", "user_id": "u", "password": "p", "project_id": "p",
                "stack_id": "s/i", "resource_name": "r"}
    settings[missing] = None
    with pytest.raises(SourceNotConfigured, match=f"No {missing} configured"):
        HeatCollector(settings).collect()


def zaqar_settings(replay, **overrides):
    settings = {"auth_url": replay.base + "/identity/v3", "user_id": "u-1", "password": PASSWORD,
                "project_id": "p-1", "queue_id": "q-1", "timeout": 5.0}
    settings.update(overrides)
    return settings


@pytest.mark.timeout(30)
def test_zaqar_takes_the_newest_message_and_keeps_it_when_the_queue_is_empty(replay):
    use(replay, "keystone_token")
    replay.add("DELETE", EXCHANGES["zaqar_pop"]["path"], 200, EXCHANGES["zaqar_pop"]["body"], times=1)
    use(replay, "zaqar_empty")
    collector = ZaqarCollector(zaqar_settings(replay))
    newest = EXCHANGES["zaqar_pop"]["body"]["messages"][-1]["body"]
    assert collector.collect() == [("zaqar", newest)]
    assert collector.collect() == [("zaqar", newest)]
    pops = [r for r in replay.requests if r["method"] == "DELETE"]
    assert len(pops) == 2
    assert pops[0]["headers"]["client-id"] == pops[1]["headers"]["client-id"]
    assert pops[0]["headers"]["x-project-id"] == "p-1"


@pytest.mark.timeout(30)
def test_zaqar_empty_queue_before_any_message_is_unavailable(replay):
    use(replay, "keystone_token", "zaqar_empty")
    with pytest.raises(SourceNotAvailable, match="zaqar queue q-1 is empty"):
        ZaqarCollector(zaqar_settings(replay)).collect()


@pytest.mark.parametrize("missing", ["auth_url", "password", "project_id", "user_id", "queue_id"])
def test_zaqar_each_required_option(missing):
    settings = {"auth_url": "http://127.0.0.1:9/v3", "user_id": "u", "password": "p", "project_id": "p", "queue_id": "q"}
    settings[missing] = ""
    with pytest.raises(SourceNotConfigured, match=f"No {missing} configured"):
        ZaqarCollector(settings).collect()


@pytest.mark.timeout(30)
def test_heat_token_is_renewed_a_minute_before_keystone_says_it_expires(replay):
    use(replay, "keystone_token", "heat_metadata")
    expires = datetime(2099, 1, 1, tzinfo=timezone.utc).timestamp()  # the recorded token's expires_at
    now = [expires - EXPIRY_MARGIN - 1]
    collector = HeatCollector(heat_settings(replay), keystone_client=Keystone(HttpClient(), 5.0, clock=lambda: now[0]))
    collector.collect()
    collector.collect()
    now[0] = expires - EXPIRY_MARGIN + 1
    collector.collect()
    posts = [r for r in replay.requests if r["method"] == "POST"]
    assert len(posts) == 2 and len(replay.requests) == 5


def test_credentials_never_show_the_password():
    from collector.keystone import credentials
    settings = {"auth_url": "http://127.0.0.1:9/v3", "user_id": "u", "password": PASSWORD, "project_id": "p"}
    assert PASSWORD not in repr(credentials(settings)) and PASSWORD not in str(credentials(settings))
