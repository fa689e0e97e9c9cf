"""A stack's event list: Heat's filters, sort keys and marker paging, done by the database, as one
table of query -> events (fixtures/stack_events/queries.yaml), on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(60)
TABLE = yaml.safe_load((Path(__file__).parent / "fixtures" / "stack_events" / "queries.yaml")
                       .read_text())
T0 = datetime(2026, 1, 2, 3, 4, 5)
# (resource, action, status, type, seconds after T0); the last one's clock went back, so time
# order is not insertion order
EVENTS = [("ev", "CREATE", "IN_PROGRESS", "OS::Heat::Stack", 0),
          ("a", "CREATE", "IN_PROGRESS", "T::A", 1),
          ("b", "CREATE", "IN_PROGRESS", "T::B", 1),
          ("a", "CREATE", "COMPLETE", "T::A", 2),
          ("b", "CREATE", "FAILED", "T::B", 3),
          ("a", "UPDATE", "IN_PROGRESS", None, 4),
          ("a", "UPDATE", "COMPLETE", "T::A", 5),
          ("ev", "CREATE", "FAILED", "OS::Heat::Stack", 2)]
# events 8 and 9 of a stack nested in it (written between its 3rd and 4th), 10 of one nested in
# that (written last): what nested_depth adds
NESTED = [("child", "inner", "CREATE", "IN_PROGRESS", "OS::Heat::Stack", 2),
          ("child", "x", "CREATE", "COMPLETE", "T::X", 3),
          ("grandchild", "y", "CREATE", "COMPLETE", "T::Y", 4)]


@pytest.fixture
def stack(store):
    """A stack row with one resource and EVENTS, written straight to the store (ids are unique
    per test: stack rows outlive a test on PostgreSQL)."""
    from metadata_server.store.stack_records import StackRecord
    from metadata_server.store.stacks import StackStore

    stacks = StackStore(store.engine)
    stack_id, run = str(uuid.uuid4()), uuid.uuid4().hex[:8]
    nested = {"child": (str(uuid.uuid4()), stack_id, "inner"),
              "grandchild": (str(uuid.uuid4()), None, "y")}
    nested["grandchild"] = (nested["grandchild"][0], nested["child"][0], "deep")
    stacks.insert_stack(StackRecord(stack_id, "t1", f"ev-{run}",
                                    {"template": {"heat_template_version": "2018-08-31"}},
                                    "CREATE", "COMPLETE", "", T0))
    for key, (nested_id, parent, resource) in nested.items():
        stacks.insert_stack(StackRecord(nested_id, "t1", f"ev-{run}-{key}", {"template": {
            "heat_template_version": "2018-08-31"}}, "CREATE", "COMPLETE", "", T0,
            parent_id=parent, parent_resource=resource))
    ids = [f"{run}-e{i}" for i in range(len(EVENTS) + len(NESTED))]

    def event(i: int, owner: str, name, action, status, rtype, at) -> dict:
        return {"id": ids[i], "stack_id": owner, "resource_name": name, "action": action,
                "status": status, "resource_type": rtype, "status_reason": "",
                "created_at": T0 + timedelta(seconds=at)}
    own = [event(i, stack_id, *fields) for i, fields in enumerate(EVENTS)]
    inner = [event(len(EVENTS) + i, nested[key][0], *fields)
             for i, (key, *fields) in enumerate(NESTED)]
    stacks.apply([{"id": str(uuid.uuid4()), "stack_id": stack_id, "name": "a", "type": "T::A",
                   "action": "CREATE", "status": "COMPLETE", "created_at": T0}], [], [], own[:4])
    stacks.apply([], [], [], inner[:2])
    stacks.apply([], [], [], own[4:])
    stacks.apply([], [], [], inner[2:])
    yield f"/v1/t1/stacks/ev-{run}/{stack_id}", ids
    for nested_id, _, _ in nested.values():
        stacks.purge_stack(nested_id)
    stacks.purge_stack(stack_id)


def test_event_lists_answer_as_the_table_says(app, stack):
    path, ids = stack
    client = app.test_client()
    marks = {f"e{i}": event_id for i, event_id in enumerate(ids)}
    problems = []
    for row in TABLE:
        url = f"{path}/{row.get('path', 'events')}?{row['query'].format(**marks)}"
        response = client.get(url, headers={"X-Auth-Token": ADMIN})
        if response.status_code != row.get("status", 200):
            problems.append(f"{url}: {response.status_code} {response.get_data(True)[:200]}")
        elif response.status_code != 200:
            if response.get_json()["error"]["message"] != row["message"]:
                problems.append(f"{url}: {response.get_json()['error']['message']!r}")
        else:
            listed = [ids.index(e["id"]) for e in response.get_json()["events"]]
            if listed != row["events"]:
                problems.append(f"{url}: {listed}, expected {row['events']}")
    assert not problems, "\n".join(problems)


def test_an_event_is_shown_in_heats_shape(app, stack):
    path, ids = stack
    listed = app.test_client().get(f"{path}/events?resource_type=T::B&limit=1",
                                   headers={"X-Auth-Token": ADMIN}).get_json()["events"]
    assert listed == [{
        "id": ids[2], "event_time": "2026-01-02T03:04:06Z", "resource_name": "b",
        "logical_resource_id": "b", "physical_resource_id": "",
        "resource_status": "CREATE_IN_PROGRESS", "resource_status_reason": "",
        "resource_type": "T::B",
        "links": [{"href": f"http://stoker.test{path}/resources/b/events/{ids[2]}", "rel": "self"},
                  {"href": f"http://stoker.test{path}/resources/b", "rel": "resource"},
                  {"href": f"http://stoker.test{path}", "rel": "stack"}]}]


def test_the_in_memory_store_lists_as_the_database_does(store, stack):
    """The engine's in-memory store answers each query of the table from rows in memory
    (event_query.page_of) as the database does."""
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    from metadata_server.api.event_list import event_query
    from metadata_server.store.event_query import page_of
    from metadata_server.store.stacks import StackStore

    path, ids = stack
    stacks = StackStore(store.engine)
    stack_id = path.rsplit("/", 1)[1]
    marks = {f"e{i}": event_id for i, event_id in enumerate(ids)}
    compared = 0
    for row in TABLE:
        if "status" in row or "nested_depth" in row["query"]:
            continue   # nested stacks' events: the API names the stacks (test above)
        query = event_query(MultiDict(parse_qsl(row["query"].format(**marks))))
        resource = "a" if row.get("path") else None
        in_sql = stacks.events(stack_id, resource, query)
        in_memory = page_of(stacks.events(stack_id, resource), query)
        assert [e["id"] for e in in_memory] == [e["id"] for e in in_sql], row
        compared += 1
    assert compared > 30


def test_nested_events_link_their_own_stack_and_the_root(app, stack):
    path, ids = stack
    client = app.test_client()
    events = {e["id"]: e for e in client.get(f"{path}/events?nested_depth=2",
                                             headers={"X-Auth-Token": ADMIN}).get_json()["events"]}
    root = f"http://stoker.test{path}"
    links = {event_id: {link["rel"]: link["href"] for link in e["links"]}
             for event_id, e in events.items()}
    assert all(found["root_stack"] == root for found in links.values())
    assert links[ids[0]]["stack"] == root
    # a nested stack's event names its own stack (python-heatclient shows its name from it)
    inner = links[ids[9]]
    assert inner["stack"] != root and "/stacks/ev-" in inner["stack"]
    assert inner["stack"].split("/stacks/")[1].split("/")[0].endswith("-child")
    assert inner["self"] == f"{inner['stack']}/resources/x/events/{ids[9]}"
    assert links[ids[10]]["stack"].split("/stacks/")[1].split("/")[0].endswith("-grandchild")
    # without nested_depth there is no root_stack link (Heat's: clients check for it)
    plain = client.get(f"{path}/events", headers={"X-Auth-Token": ADMIN}).get_json()["events"]
    assert all("root_stack" not in {link["rel"] for link in e["links"]} for e in plain)


def test_one_event_is_shown_in_heats_detailed_shape(app, stack):
    path, ids = stack
    client = app.test_client()
    answer = client.get(f"{path}/resources/b/events/{ids[4]}", headers={"X-Auth-Token": ADMIN})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"event": {
        "id": ids[4], "event_time": "2026-01-02T03:04:08Z", "resource_name": "b",
        "logical_resource_id": "b", "physical_resource_id": "",
        "resource_status": "CREATE_FAILED", "resource_status_reason": "",
        "resource_type": "T::B", "resource_properties": {},
        "links": [{"href": f"http://stoker.test{path}/resources/b/events/{ids[4]}",
                   "rel": "self"},
                  {"href": f"http://stoker.test{path}/resources/b", "rel": "resource"},
                  {"href": f"http://stoker.test{path}", "rel": "stack"}]}}
    # another resource's event, a nested stack's, and an id that is nobody's: 404
    for resource, event_id in (("a", ids[4]), ("x", ids[9]), ("b", "no-such-event")):
        missing = client.get(f"{path}/resources/{resource}/events/{event_id}",
                             headers={"X-Auth-Token": ADMIN})
        assert missing.status_code == 404, (resource, event_id)
        assert missing.get_json()["error"]["message"] == f"No event {event_id} found"
