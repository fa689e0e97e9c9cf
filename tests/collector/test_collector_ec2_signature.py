"""EC2 signature v2 against vectors computed by hand from server-and-engine.md §1.11.

The expected signatures were computed once with a separate HMAC over the string to sign written out
literally below, so a change in sorting, quoting or line layout breaks these tests.
"""
import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from stoker_common.ec2_signature import canonical_query, sign_v2, signed_query

VECTORS = [
    pytest.param(
        "secret-1", "GET", "192.0.2.99:8000", "/v1/",
        {"Action": "DescribeStackResource", "StackName": "my.stack", "LogicalResourceId": "server",
         "AWSAccessKeyId": "AKID1", "SignatureVersion": "2", "SignatureMethod": "HmacSHA256"},
        "GET\n192.0.2.99:8000\n/v1/\nAWSAccessKeyId=AKID1&Action=DescribeStackResource"
        "&LogicalResourceId=server&SignatureMethod=HmacSHA256&SignatureVersion=2&StackName=my.stack",
        "lR/0+ammEhv2vbFmCB/aH+1mY+3jeFWa4t6C7rnAUVs=", id="describe-stack-resource"),
    pytest.param(
        # RFC 3986: names quoted with nothing safe, values with -_~ safe; UTF-8 percent-encoded;
        # Signature itself excluded; the path is used unquoted.
        "k", "post", "example.com", "/v1/signal/arn:openstack:heat::t:stacks/s/i/resources/r",
        {"Z": "é", "A B": "x/y~z+=", "SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
         "Signature": "ignored"},
        "POST\nexample.com\n/v1/signal/arn:openstack:heat::t:stacks/s/i/resources/r\n"
        "A%20B=x%2Fy~z%2B%3D&SignatureMethod=HmacSHA256&SignatureVersion=2&Z=%C3%A9",
        "xAjefF6GhNdWTs9qyOj0wXX8PtScsdm1PptOr+K5FUI=", id="quoting-and-excluded-signature"),
]


@pytest.mark.parametrize("secret, verb, host, path, params, to_sign, expected", VECTORS)
def test_sign_v2_vectors(secret, verb, host, path, params, to_sign, expected):
    assert canonical_query(params) == to_sign.split("\n", 3)[3]
    independent = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).digest()).decode()
    assert independent == expected
    assert sign_v2(secret, verb, host, path, params) == expected


def test_signed_query_adds_the_signature_parameters():
    # string to sign: the first vector's, with &Timestamp=2026-01-02T03%3A04%3A05Z at its end
    query = signed_query("AKID1", "secret-1", "GET", "http://192.0.2.99:8000/v1/",
                         {"Action": "DescribeStackResource", "StackName": "my.stack",
                          "LogicalResourceId": "server"}, now=datetime(2026, 1, 2, 3, 4, 5))
    assert query == {"Action": "DescribeStackResource", "StackName": "my.stack",
                     "LogicalResourceId": "server", "AWSAccessKeyId": "AKID1",
                     "SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
                     "Timestamp": "2026-01-02T03:04:05Z",
                     "Signature": "A30bHa2azQlsBlaNAxqw5BRPaO9/13bn5GxcjPNTVYE="}


def test_signed_query_stamps_the_current_utc_time():
    eastern = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert signed_query("a", "s", "GET", "http://h/v1/", {}, now=eastern)["Timestamp"] == \
        "2026-01-02T03:04:05Z"
    stamped = signed_query("a", "s", "GET", "http://h/v1/", {})["Timestamp"]
    age = datetime.now(timezone.utc) - datetime.strptime(stamped, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)
    assert timedelta(seconds=-1) <= age < timedelta(minutes=1)


def test_empty_path_signs_as_root():
    assert sign_v2("k", "GET", "h", "", {"a": "1"}) == sign_v2("k", "GET", "h", "/", {"a": "1"})


def test_any_change_changes_the_signature():
    base = sign_v2("k", "GET", "h:1", "/v1/", {"a": "1"})
    assert sign_v2("k2", "GET", "h:1", "/v1/", {"a": "1"}) != base
    assert sign_v2("k", "PUT", "h:1", "/v1/", {"a": "1"}) != base
    assert sign_v2("k", "GET", "h:2", "/v1/", {"a": "1"}) != base
    assert sign_v2("k", "GET", "h:1", "/v2/", {"a": "1"}) != base
    assert sign_v2("k", "GET", "h:1", "/v1/", {"a": "2"}) != base
