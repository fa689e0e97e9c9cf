"""A server's page shows the last metric sample its agent sent (what its alarms read)."""
from __future__ import annotations

from datetime import timezone

import pytest

from tests.dashboard.conftest import ADMIN, TENANT


@pytest.fixture
def signed_in(browser):
    assert browser.sign_in().status_code == 303
    return browser


def test_the_server_page_shows_its_latest_sample(app, signed_in, clock):
    api = app.test_client()
    auth = {"X-Auth-Token": ADMIN}
    server = api.post(f"/v1/{TENANT}/servers", json={"name": "web-1"}, headers=auth).json
    server_id = server["server"]["id"]
    assert "none received" in signed_in.get(f"/dashboard/servers/{server_id}").get_data(True)
    now = clock.now.replace(tzinfo=timezone.utc).timestamp()
    sent = api.post(f"/v1/{TENANT}/servers/{server_id}/metrics", headers={
        "X-Auth-Token": server["credential"]["token"]}, json={"samples": [
            {"time": now - 20, "metrics": {"cpu_util": 10}},
            {"time": now - 10, "metrics": {"cpu_util": 87.5, "load1": 0.25, "<b>": 1}}]})
    assert sent.status_code == 400            # a name that is markup is refused at the door
    sent = api.post(f"/v1/{TENANT}/servers/{server_id}/metrics", headers={
        "X-Auth-Token": server["credential"]["token"]}, json={"samples": [
            {"time": now - 20, "metrics": {"cpu_util": 10}},
            {"time": now - 10, "metrics": {"cpu_util": 87.5, "load1": 0.25}}]})
    assert sent.status_code == 202, sent.json
    page = signed_in.get(f"/dashboard/servers/{server_id}").get_data(True)
    assert '<span class="metrics">cpu_util 87.5, load1 0.25</span> at 20' in page
