"""Signed requests: a captured CFN request is refused once it is stale, and no secret is compared
in a way whose time depends on how much of it matched."""
from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stoker_common.ec2_signature import sign_v2, signed_query
from tests.server import conftest as server_fixtures

app, api, make_server = server_fixtures.app, server_fixtures.api, server_fixtures.make_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfn(make_server):
    return make_server(name="web", id="srv-sig")["os-collect-config"]["cfn"]


def _describe(api, cfn, extra: dict, *, resign=True, after: dict | None = None):
    """DescribeStackResource signed with `extra` parameters; `after` changes it once signed."""
    params = {"Action": "DescribeStackResource", "StackName": cfn["stack_name"],
              "LogicalResourceId": "server", "AWSAccessKeyId": cfn["access_key_id"],
              "SignatureVersion": "2", "SignatureMethod": "HmacSHA256", **extra}
    url = urlsplit(cfn["metadata_url"])
    params["Signature"] = sign_v2(cfn["secret_access_key"], "GET", url.netloc, url.path, params)
    params.update(after or {})
    return api.as_(None).client.get(url.path, query_string=params, headers={"Host": url.netloc})


def _code(response) -> str | None:
    error = ET.fromstring(response.data).find("Error/Code") if response.status_code >= 400 else None
    return None if error is None else error.text


def _stamp(api, delta: timedelta, zone: str = "Z") -> str:
    now = api.client.application.extensions["stoker"].clock()
    return (now + delta).strftime("%Y-%m-%dT%H:%M:%S") + zone


# (signed parameters as a function of the server's time) -> expected status and AWS code
FRESHNESS = [
    pytest.param(lambda api: {}, 200, None, id="no-timestamp-as-upstream-os-collect-config"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta())}, 200, None, id="now"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, -timedelta(minutes=14))}, 200, None,
                 id="14-minutes-old"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta(minutes=14))}, 200, None,
                 id="14-minutes-ahead"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta(hours=2), "+02:00")}, 200,
                 None, id="offset-zone"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, -timedelta(minutes=16))}, 400,
                 "RequestExpired", id="16-minutes-old"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta(minutes=16))}, 400,
                 "RequestExpired", id="16-minutes-ahead"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, -timedelta(days=3 * 365))}, 400,
                 "RequestExpired", id="years-old"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta(days=3 * 365))}, 400,
                 "RequestExpired", id="years-ahead"),
    pytest.param(lambda api: {"Timestamp": "yesterday"}, 400, "InvalidParameterValue",
                 id="not-a-time"),
    pytest.param(lambda api: {"Timestamp": "0001-01-01T00:00:00+01:00"}, 400,
                 "InvalidParameterValue", id="out-of-range"),
    pytest.param(lambda api: {"Expires": _stamp(api, timedelta(minutes=5))}, 200, None,
                 id="expires-later"),
    pytest.param(lambda api: {"Expires": _stamp(api, -timedelta(seconds=1))}, 400,
                 "RequestExpired", id="expired"),
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta()),
                              "Expires": _stamp(api, timedelta(minutes=5))}, 400,
                 "InvalidParameterCombination", id="timestamp-and-expires"),
]


@pytest.mark.parametrize("extra, status, code", FRESHNESS)
def test_cfn_requests_must_be_fresh(api, cfn, extra, status, code):
    response = _describe(api, cfn, extra(api))
    assert (response.status_code, _code(response)) == (status, code), response.data


def test_a_stale_request_names_the_times_and_the_fix(api, cfn):
    response = _describe(api, cfn, {"Timestamp": _stamp(api, -timedelta(days=400))})
    message = ET.fromstring(response.data).findtext("Error/Message")
    assert "more than 15 minutes" in message and "clock" in message


@pytest.mark.parametrize("after", [
    pytest.param(lambda api: {"Timestamp": _stamp(api, timedelta())}, id="timestamp-added"),
    pytest.param(lambda api: {"Expires": _stamp(api, timedelta(days=1))}, id="expires-moved"),
])
def test_freshness_parameters_are_covered_by_the_signature(api, cfn, after):
    # a replayed request cannot be refreshed: changing its time breaks its signature
    signed = {"Expires": _stamp(api, -timedelta(minutes=1))}
    response = _describe(api, cfn, signed, after=after(api))
    assert (response.status_code, _code(response)) == (403, "SignatureDoesNotMatch")


def test_stokers_own_collector_stamps_its_requests(api, cfn):
    now = api.client.application.extensions["stoker"].clock()
    url = urlsplit(cfn["metadata_url"])
    query = signed_query(cfn["access_key_id"], cfn["secret_access_key"], "GET",
                         cfn["metadata_url"], {"Action": "DescribeStackResource",
                                               "StackName": cfn["stack_name"],
                                               "LogicalResourceId": "server"}, now=now)
    client = api.as_(None).client
    assert client.get(url.path, query_string=query, headers={"Host": url.netloc}).status_code == 200
    late = signed_query(cfn["access_key_id"], cfn["secret_access_key"], "GET",
                        cfn["metadata_url"], {"Action": "DescribeStackResource"},
                        now=now - timedelta(hours=1))
    assert _code(client.get(url.path, query_string=late, headers={"Host": url.netloc})) == \
        "RequestExpired"


# -- constant-time comparison: a static check over the whole server ------------------------------
SECRET_NAME = re.compile(r"sig|token|secret|passw|digest|hash|hmac|credential", re.I)


def _names(node: ast.AST):
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            yield inner.id
        elif isinstance(inner, ast.Attribute):
            yield inner.attr


def _sql_arguments(tree: ast.AST) -> set[int]:
    """Comparisons inside `.where(...)`: SQLAlchemy expressions the database evaluates. A token
    is looked up by the SHA-256 of its 256 random bits; what an index lookup's timing could tell
    is a digest prefix, which brings no one closer to a token that hashes to it."""
    inside = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "where"):
            inside.update(id(n) for arg in node.args for n in ast.walk(arg))
    return inside


def _secret_equalities(source: str, name: str) -> list[str]:
    tree = ast.parse(source, name)
    sql = _sql_arguments(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or id(node) in sql:
            continue
        if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Constant) for side in sides):
            continue  # against a literal: nothing secret-dependent in its timing
        if any(SECRET_NAME.search(name) for side in sides for name in _names(side)):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


# comparisons whose operands have a secret-looking name but hold no secret
NOT_SECRETS = {
    "metadata_server/engine/resources/wait_condition.py: set(body) != SIGNAL_KEYS",
}


def test_no_secret_is_compared_with_equals():
    sources = sorted(ROOT.joinpath("metadata_server").rglob("*.py")) + [
        ROOT / "stoker_common" / "ec2_signature.py"]
    found = [line for path in sources
             for line in _secret_equalities(path.read_text(), str(path.relative_to(ROOT)))
             if re.sub(r":\d+:", ":", line) not in NOT_SECRETS]
    assert found == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


def test_the_static_check_finds_a_plain_comparison():
    sample = ("def ok(expected, signature, rows, table, digest):\n"
              "    rows.where(table.c.token_hash == digest)\n"  # SQL: the database compares
              "    if signature == '':\n"  # a literal
              "        return False\n"
              "    return expected == signature\n")
    assert _secret_equalities(sample, "sample.py") == ["sample.py:5: expected == signature"]
