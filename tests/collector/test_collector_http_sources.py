"""request, cfn and ec2 collectors against a loopback server (what upstream's unit tests pin, §6.1)."""
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from collector.cfn import CfnCollector, parse_path
from collector.ec2 import Ec2Collector
from collector.errors import SourceNotAvailable, SourceNotConfigured
from collector.request import RequestCollector
from stoker_common.ec2_signature import sign_v2

DOC = {"deployments": [{"name": "dep-a", "group": "os-apply-config", "config": {"a": 1}}], "k": "v"}
LM1 = "Sun, 22 Nov 2026 03:00:00 GMT"
LM2 = "Sun, 22 Nov 2026 03:05:00 GMT"


# -- request -----------------------------------------------------------------------------------

def request_collector(replay):
    return RequestCollector({"metadata_url": replay.base + "/md?temp_url_sig=abc", "timeout": 5.0})


def test_request_head_then_get_and_last_modified_skips_the_get(replay):
    replay.add("GET", "/md*", 200, DOC, {"Last-Modified": LM1})
    collector = request_collector(replay)
    assert collector.collect() == [("request", DOC)]
    assert collector.last_modified is not None
    assert collector.collect() == [("request", DOC)]
    assert [r["method"] for r in replay.requests] == ["HEAD", "GET", "HEAD"]


def test_request_newer_last_modified_fetches_again(replay):
    replay.add("GET", "/md*", 200, DOC, {"Last-Modified": LM1}, times=2)
    replay.add("GET", "/md*", 200, {"k": "new"}, {"Last-Modified": LM2})
    collector = request_collector(replay)
    collector.collect()
    assert collector.collect() == [("request", {"k": "new"})]
    assert [r["method"] for r in replay.requests] == ["HEAD", "GET", "HEAD", "GET"]


def test_request_etag_gets_a_304(replay):
    replay.add("GET", "/md*", 200, DOC, {"ETag": '"e1"', "X-Stoker-Poll-Interval": "45"}, times=2)
    replay.add("GET", "/md*", 304, b"", {"ETag": '"e1"'})
    collector = request_collector(replay)
    collector.collect()
    assert collector.poll_interval == 45
    assert collector.collect() == [("request", DOC)]
    assert replay.requests[-1]["headers"]["if-none-match"] == '"e1"'


def test_request_403_is_unavailable_and_hides_the_signature(replay):
    replay.add("GET", "/md*", 403, b"denied")
    with pytest.raises(SourceNotAvailable) as err:
        request_collector(replay).collect()
    assert "403" in err.value.reason and "abc" not in err.value.reason


def test_request_not_json_is_unavailable(replay):
    replay.add("GET", "/md*", 200, b"<html>")
    with pytest.raises(SourceNotAvailable, match="not JSON"):
        request_collector(replay).collect()


def test_request_without_url_is_not_configured():
    with pytest.raises(SourceNotConfigured, match=r"no metadata_url configured in \[request\]"):
        RequestCollector({}).collect()


# -- cfn ---------------------------------------------------------------------------------------

def describe_xml(metadata, field="Metadata"):
    return (f"<DescribeStackResourceResponse><DescribeStackResourceResult><StackResourceDetail>"
            f"<LogicalResourceId>server</LogicalResourceId><{field}>{json.dumps(metadata).replace('&', '&amp;').replace('<', '&lt;')}</{field}>"
            f"</StackResourceDetail></DescribeStackResourceResult></DescribeStackResourceResponse>")


def cfn_settings(replay, **overrides):
    settings = {"metadata_url": replay.base + "/v1/", "stack_name": "my.stack", "path": ["server.Metadata"],
                "access_key_id": "AKID", "secret_access_key": "SECRET", "timeout": 5.0}
    settings.update(overrides)
    return settings


def test_cfn_request_shape_and_signature(replay):
    replay.add("GET", "/v1/*", 200, describe_xml(DOC))
    assert CfnCollector(cfn_settings(replay)).collect() == [("cfn", DOC)]
    [req] = replay.requests
    parts = urlsplit(req["path"])
    params = dict(parse_qsl(parts.query))
    assert parts.path == "/v1/"
    assert req["headers"]["content-type"] == "application/json"
    assert {k: params[k] for k in ("Action", "StackName", "LogicalResourceId", "AWSAccessKeyId",
                                   "SignatureVersion", "SignatureMethod")} == {
        "Action": "DescribeStackResource", "StackName": "my.stack", "LogicalResourceId": "server",
        "AWSAccessKeyId": "AKID", "SignatureVersion": "2", "SignatureMethod": "HmacSHA256"}
    # what a verifier holding the secret computes from the request as received
    assert params["Signature"] == sign_v2("SECRET", "GET", req["headers"]["host"], parts.path, params)


def test_cfn_signature_is_accepted_by_stokers_cfn_verifier(replay):
    verify = pytest.importorskip("metadata_server.service.cfn").verify
    from metadata_server.service.clock import system_clock
    replay.add("GET", "/v1/*", 200, describe_xml(DOC))
    CfnCollector(cfn_settings(replay)).collect()
    [req] = replay.requests
    parts = urlsplit(req["path"])
    params = dict(parse_qsl(parts.query))
    verify("SECRET", params["Signature"], "GET", req["headers"]["host"], parts.path, params,
           system_clock())


def test_cfn_sub_keys_and_several_paths_merge(replay):
    replay.add("GET", "/v1/*", 200, describe_xml({"a": {"b": {"x": 1}}, "top": 2}))
    collector = CfnCollector(cfn_settings(replay, path=["server.Metadata.a.b", "server.Metadata"]))
    assert collector.collect() == [("cfn", {"x": 1, "a": {"b": {"x": 1}}, "top": 2})]


def test_cfn_missing_sub_key(replay):
    replay.add("GET", "/v1/*", 200, describe_xml({"a": {}}))
    with pytest.raises(SourceNotAvailable, match="sub-key nope does not exist"):
        CfnCollector(cfn_settings(replay, path=["server.Metadata.a.nope"])).collect()


@pytest.mark.parametrize("body, why", [
    (b"<not-xml", "not XML"),
    (describe_xml({}, field="Other"), "no StackResourceDetail/Metadata"),
    (describe_xml({}).replace("{}", "{bad"), "Metadata is not JSON"),
])
def test_cfn_malformed_answers_name_the_path(replay, body, why):
    replay.add("GET", "/v1/*", 200, body)
    with pytest.raises(SourceNotAvailable) as err:
        CfnCollector(cfn_settings(replay)).collect()
    assert why in err.value.reason and "(server.Metadata)" in err.value.reason


EXPIRED = ("<ErrorResponse><Error><Type>Sender</Type><Code>RequestExpired</Code>"
           "<Message>Request has expired</Message></Error></ErrorResponse>")


def test_cfn_guest_clock_off_signs_again_on_the_servers_time(replay):
    # a first boot before NTP: the guest's clock is two hours behind the server's
    behind = lambda: datetime.now(timezone.utc) - timedelta(hours=2)  # noqa: E731
    replay.add("GET", "/v1/*", 400, EXPIRED, times=1)
    replay.add("GET", "/v1/*", 200, describe_xml(DOC))
    collector = CfnCollector(cfn_settings(replay), clock=behind)
    assert collector.collect() == [("cfn", DOC)]
    first, second = (dict(parse_qsl(urlsplit(r["path"]).query))["Timestamp"] for r in replay.requests)
    stamp = lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)  # noqa: E731
    assert abs(stamp(first) - datetime.now(timezone.utc)) > timedelta(minutes=100)
    assert abs(stamp(second) - datetime.now(timezone.utc)) < timedelta(minutes=2)
    # the skew is kept: the next pass signs on the server's time at once
    collector.collect()
    assert len(replay.requests) == 3


def test_cfn_request_expired_on_the_servers_time_is_not_retried(replay):
    replay.add("GET", "/v1/*", 400, EXPIRED)
    with pytest.raises(SourceNotAvailable, match="400 .*RequestExpired"):
        CfnCollector(cfn_settings(replay)).collect()
    assert len(replay.requests) == 1


def test_cfn_403_carries_the_aws_error_code(replay):
    replay.add("GET", "/v1/*", 403, "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
                                    "<Message>no match</Message></Error></ErrorResponse>")
    with pytest.raises(SourceNotAvailable, match="403 .*SignatureDoesNotMatch: no match"):
        CfnCollector(cfn_settings(replay)).collect()


def test_cfn_url_from_hint_file_and_explicit_url_wins(replay, tmp_path):
    hint = tmp_path / "cfn-metadata-server"
    hint.write_text(replay.base + "\n")
    replay.add("GET", "/v1/*", 200, describe_xml(DOC))
    CfnCollector(cfn_settings(replay, metadata_url=None, heat_metadata_hint=str(hint))).collect()
    assert urlsplit(replay.requests[-1]["path"]).path == "/v1/"
    replay.add("GET", "/other/*", 200, describe_xml(DOC))
    CfnCollector(cfn_settings(replay, metadata_url=replay.base + "/other/", heat_metadata_hint=str(hint))).collect()
    assert urlsplit(replay.requests[-1]["path"]).path == "/other/"


def test_cfn_ca_certificate_is_used_to_verify(tls_replay, tls_files):
    tls_replay.add("GET", "/v1/*", 200, describe_xml(DOC))
    collector = CfnCollector(cfn_settings(tls_replay, ca_certificate=tls_files["ca"]))
    assert collector.collect() == [("cfn", DOC)]
    # without the CA the server's certificate is not trusted
    with pytest.raises(SourceNotAvailable, match="TLS error: certificate verify failed"):
        CfnCollector(cfn_settings(tls_replay)).collect()


@pytest.mark.parametrize("overrides, message", [
    ({"metadata_url": None, "heat_metadata_hint": "/nonexistent/hint"}, "no metadata_url configured in [cfn]"),
    ({"path": []}, "no path configured in [cfn]"),
    ({"access_key_id": None}, "no access_key_id configured in [cfn]"),
    ({"secret_access_key": ""}, "no secret_access_key configured in [cfn]"),
    ({"path": ["serverMetadata"]}, "is not in the format resource.field[.x.y]"),
])
def test_cfn_not_configured(replay, overrides, message):
    with pytest.raises(SourceNotConfigured) as err:
        CfnCollector(cfn_settings(replay, **overrides)).collect()
    assert message in str(err.value)
    assert "SECRET" not in str(err.value)


def test_parse_path():
    assert parse_path("Res.Metadata.a.b") == ("Res", "Metadata", ["a", "b"])


# -- ec2 ---------------------------------------------------------------------------------------

EC2_TREE = {
    "/latest/meta-data/": "ami-id\nplacement/\npublic-keys/\nblock-device-mapping/\n",
    "/latest/meta-data/ami-id": "ami-123",
    "/latest/meta-data/placement/": "availability-zone\n",
    "/latest/meta-data/placement/availability-zone": "nova",
    "/latest/meta-data/public-keys/": "0=my-key\n",
    "/latest/meta-data/public-keys/0/": "openssh-key\n",
    "/latest/meta-data/public-keys/0/openssh-key": "ssh-rsa AAA",
    "/latest/meta-data/block-device-mapping/": "ami\nroot\n",
    "/latest/meta-data/block-device-mapping/ami": "vda",
    "/latest/meta-data/block-device-mapping/root": "/dev/vda",
}
EC2_EXPECTED = {"ami-id": "ami-123", "placement": {"availability-zone": "nova"},
                "public-keys": {"0": {"openssh-key": "ssh-rsa AAA"}},
                "block-device-mapping": {"ami": "vda", "root": "/dev/vda"}}


def ec2_collector(replay, tmp_path, **overrides):
    settings = {"metadata_url": replay.base + "/latest/meta-data", "timeout": 5.0, "_cachedir": str(tmp_path),
                "config_drive_path": str(tmp_path / "no-drive")}
    settings.update(overrides)
    return Ec2Collector(settings)


def test_ec2_tree_walk_once_per_process(replay, tmp_path):
    for path, text in EC2_TREE.items():
        replay.add("GET", path, 200, text)
    collector = ec2_collector(replay, tmp_path)
    assert collector.collect() == [("ec2", EC2_EXPECTED)]
    count = len(replay.requests)
    assert collector.collect() == [("ec2", EC2_EXPECTED)]
    assert len(replay.requests) == count


def test_ec2_403_is_unavailable(replay, tmp_path):
    replay.add("GET", "/latest/meta-data/", 403, "Forbidden")
    with pytest.raises(SourceNotAvailable, match="403 Forbidden"):
        ec2_collector(replay, tmp_path).collect()


def test_ec2_cached_answer_is_used_even_if_http_fails(closed_url, tmp_path):
    (tmp_path / "ec2.json").write_text(json.dumps({"ami-id": "cached"}))
    collector = Ec2Collector({"metadata_url": closed_url("/latest/meta-data"), "_cachedir": str(tmp_path),
                              "config_drive_path": str(tmp_path / "none")})
    assert collector.collect() == [("ec2", {"ami-id": "cached"})]


def test_ec2_empty_cache_is_fetched_again(replay, tmp_path):
    (tmp_path / "ec2.json").write_text("{}")
    for path, text in EC2_TREE.items():
        replay.add("GET", path, 200, text)
    assert ec2_collector(replay, tmp_path).collect() == [("ec2", EC2_EXPECTED)]


def test_ec2_config_drive_is_preferred_to_http(closed_url, tmp_path):
    drive = tmp_path / "drive"
    (drive / "ec2" / "latest").mkdir(parents=True)
    (drive / "ec2" / "latest" / "meta-data.json").write_text(json.dumps({"ami-id": "from-drive"}))
    collector = Ec2Collector({"metadata_url": closed_url("/latest/meta-data"), "_cachedir": str(tmp_path),
                              "config_drive_path": str(drive)})
    assert collector.collect() == [("ec2", {"ami-id": "from-drive"})]


def test_request_etag_on_head_beats_a_same_second_last_modified(replay):
    replay.add("GET", "/md*", 200, DOC, {"Last-Modified": LM1, "ETag": '"e1"'}, times=2)
    replay.add("GET", "/md*", 200, {"k": "same second"}, {"Last-Modified": LM1, "ETag": '"e2"'}, times=2)
    collector = request_collector(replay)
    collector.collect()
    assert collector.collect() == [("request", {"k": "same second"})]
    assert [r["method"] for r in replay.requests] == ["HEAD", "GET", "HEAD", "GET"]


@pytest.mark.parametrize("previous, header, fetch", [
    (None, LM1, True),      # first fetch
    (LM1, LM1, False),      # equal: skip
    (LM1, LM2, True),       # newer: fetch
    (LM2, LM1, False),      # older: skip
    (LM1, None, True),      # no header: fetch
    (LM1, "garbage", True),  # unreadable header: fetch
])
def test_last_modified_table(previous, header, fetch):
    from collector.request import parse_last_modified, should_fetch
    assert should_fetch(parse_last_modified(previous), parse_last_modified(header)) is fetch
