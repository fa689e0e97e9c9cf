"""The CFN-compatible API an unchanged image's os-collect-config `cfn` collector polls.

DescribeStackResource is answered with the server's document as JSON inside AWS-style XML, after
verifying the request's EC2 signature (version 2) locally with the server's stored secret.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from collector.ec2_signature import sign_v2

from metadata_server.service.clock import isotime


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


def verify(secret_key: str, signature: str, verb: str, host: str, path: str,
           params: dict[str, str]) -> None:
    signed = {k: v for k, v in params.items() if k != "Signature"}
    if params.get("SignatureVersion", "2") != "2":
        raise CfnError(400, "InvalidParameterValue", "only SignatureVersion 2 is supported")
    # Heat lower-cases the host when it signs; a client may send it as written
    for candidate in dict.fromkeys((host, host.lower())):
        if sign_v2(secret_key, verb, candidate, path, signed) == signature:
            return
    raise CfnError(403, "SignatureDoesNotMatch", "The request signature we calculated does not "
                   "match the signature you provided")


def describe_stack_resource(document: dict, server: dict, stack_name: str, resource: str) -> bytes:
    """DescribeStackResourceResponse with the document as the Metadata element's JSON text."""
    root = ET.Element("DescribeStackResourceResponse")
    result = ET.SubElement(root, "DescribeStackResourceResult")
    detail = ET.SubElement(result, "StackResourceDetail")
    fields = [("Description", ""), ("LastUpdatedTimestamp", isotime(server["created_at"])),
              ("LogicalResourceId", resource),
              ("Metadata", json.dumps(document)),
              ("PhysicalResourceId", server["id"]), ("ResourceStatusReason", ""),
              ("ResourceType", "OS::Heat::DeployedServer"),
              ("StackId", f"arn:openstack:heat::{server['tenant']}:stacks/{stack_name}/{server['id']}"),
              ("StackName", stack_name), ("ResourceStatus", "CREATE_COMPLETE")]
    for tag, text in fields:
        ET.SubElement(detail, tag).text = text
    return ET.tostring(root)
