"""The CFN-compatible API an unchanged image's os-collect-config `cfn` collector polls.

DescribeStackResource is answered with the server's document as JSON inside AWS-style XML, after
verifying the request's EC2 signature (version 2) locally with the server's stored secret.

A signed `Timestamp` more than 15 minutes from the server's time, or a signed `Expires` in the
past, is refused as AWS and keystone (`[credential] auth_ttl`) refuse it, so a captured request
URL cannot be replayed for long. A request with neither is still accepted, as keystone accepts
it: upstream os-collect-config signs without one (stoker's own collector sends a Timestamp).
"""
from __future__ import annotations

import hmac
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


from metadata_server.service.clock import isotime
from metadata_server.store.records import ServerRecord
from stoker_common.ec2_signature import sign_v2


@dataclass
class CfnError(Exception):
    """An AWS-style error: HTTP status, Sender|Server, code and message."""
    status: int
    code: str
    message: str
    kind: str = "Sender"

    def xml(self) -> bytes:
        root = ET.Element("ErrorResponse")
        error = ET.SubElement(root, "Error")
        for tag, text in (("Type", self.kind), ("Code", self.code), ("Message", self.message)):
            ET.SubElement(error, tag).text = text
        return ET.tostring(root)


def credentials_in(params: dict[str, str]) -> tuple[str, str]:
    """The access key and signature of a request, or the error Heat gives when one is missing."""
    signature = params.get("Signature")
    if not signature:
        raise CfnError(400, "IncompleteSignature", "The request signature does not conform to "
                       "AWS standards: no Signature parameter")
    access_key = params.get("AWSAccessKeyId")
    if not access_key:
        raise CfnError(403, "MissingAuthenticationToken", "no AWSAccessKeyId parameter")
    return access_key, signature


MAX_CLOCK_SKEW = timedelta(minutes=15)


def verify(secret_key: str, signature: str, verb: str, host: str, path: str,
           params: dict[str, str], now: datetime) -> None:
    """Raise CfnError unless the request is signed with `secret_key` and is fresh at `now`
    (naive UTC)."""
    signed = {k: v for k, v in params.items() if k != "Signature"}
    if params.get("SignatureVersion", "2") != "2":
        raise CfnError(400, "InvalidParameterValue", "only SignatureVersion 2 is supported")
    # Heat lower-cases the host when it signs; a client may send it as written.
    # Every candidate is computed and compared in constant time, matched or not.
    matches = [hmac.compare_digest(sign_v2(secret_key, verb, candidate, path, signed).encode(),
                                   signature.encode())
               for candidate in dict.fromkeys((host, host.lower()))]
    if not any(matches):
        raise CfnError(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                       "not match the signature you provided")
    check_freshness(params, now)


def check_freshness(params: dict[str, str], now: datetime) -> None:
    """AWS's rule for signed query requests: Timestamp within 15 minutes, Expires not passed."""
    if "Timestamp" in params and "Expires" in params:
        raise CfnError(400, "InvalidParameterCombination",
                       "The parameter Timestamp cannot be used with the parameter Expires")
    if "Timestamp" in params:
        stamp = _aws_time("Timestamp", params["Timestamp"])
        if abs(now - stamp) > MAX_CLOCK_SKEW:
            raise CfnError(400, "RequestExpired", f"Request has expired: its Timestamp "
                           f"{params['Timestamp'][:40]} is more than 15 minutes from the server's "
                           f"time {isotime(now)}; check the client's clock (NTP)")
    elif "Expires" in params:
        expires = _aws_time("Expires", params["Expires"])
        if now >= expires:
            raise CfnError(400, "RequestExpired", f"Request has expired: it expired at "
                           f"{params['Expires'][:40]}; the server's time is {isotime(now)}")


def _aws_time(name: str, text: str) -> datetime:
    """An ISO 8601 time as AWS clients write it (Z, an offset, or none for UTC) as naive UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise CfnError(400, "InvalidParameterValue", f"{name} {text[:40]!r} is not an ISO 8601 "
                       "time such as 2026-01-02T03:04:05Z") from None
    return value


def stack_reference(stack_name: str) -> str:
    """A StackName as Heat's CFN API takes it: a name, an id, `name/id` or the stack's ARN
    (`arn:openstack:heat::<tenant>:stacks/<name>/<id>`); the id when one is given."""
    if stack_name.startswith("arn:") and ":stacks/" in stack_name:
        stack_name = stack_name.split(":stacks/", 1)[1]
    return stack_name.rstrip("/").rsplit("/", 1)[-1]


def stack_arn(tenant: str, stack_name: str, stack_id: str) -> str:
    return f"arn:openstack:heat::{tenant}:stacks/{stack_name}/{stack_id}"


def server_detail(document: dict, server: ServerRecord, stack_name: str, resource: str) -> dict:
    """StackResourceDetail of a registered server that no stack holds: its document as the
    metadata, under whatever stack and resource names its collector was given."""
    return {"Description": "", "LastUpdatedTimestamp": isotime(server.created_at),
            "LogicalResourceId": resource, "Metadata": document,
            "PhysicalResourceId": server.id, "ResourceStatusReason": "",
            "ResourceType": "OS::Heat::DeployedServer",
            "StackId": stack_arn(server.tenant, stack_name, server.id),
            "StackName": stack_name, "ResourceStatus": "CREATE_COMPLETE"}


def resource_detail(stack: dict, row: dict, metadata: dict) -> dict:
    """StackResourceDetail of a stack's resource, with the metadata the caller may read."""
    stamp = row.get("updated_at") or row.get("created_at") or stack.get("created_at")
    return {"Description": "",
            "LastUpdatedTimestamp": isotime(stamp) if isinstance(stamp, datetime) else str(stamp or ""),
            "LogicalResourceId": row["name"], "Metadata": metadata,
            "PhysicalResourceId": row.get("physical_id") or "",
            "ResourceStatusReason": row.get("status_reason") or "",
            "ResourceType": row["type"],
            "StackId": stack_arn(stack["tenant"], stack["name"], stack["id"]),
            "StackName": stack["name"], "ResourceStatus": f"{row['action']}_{row['status']}"}


def describe_stack_resource_xml(detail: dict) -> bytes:
    """DescribeStackResourceResponse, the metadata as the Metadata element's JSON text."""
    root = ET.Element("DescribeStackResourceResponse")
    result = ET.SubElement(root, "DescribeStackResourceResult")
    element = ET.SubElement(result, "StackResourceDetail")
    for tag, value in detail.items():
        ET.SubElement(element, tag).text = json.dumps(value) if tag == "Metadata" else value
    return ET.tostring(root)


def describe_stack_resource_json(detail: dict) -> dict:
    """The answer to ContentType=JSON (boto's, so cfn-init's): the metadata as an object."""
    return {"DescribeStackResourceResponse": {"DescribeStackResourceResult": {
        "StackResourceDetail": detail}}}
