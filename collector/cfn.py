"""`cfn`: the server's metadata from a CloudFormation-style API (Heat's CFN API, or stoker's).

For each `path` `Resource.Field[.k1.k2]`: GET `metadata_url` with Action=DescribeStackResource,
StackName, LogicalResourceId, signed with EC2 signature version 2 (`ec2_signature`). The answer is
XML; the element `Field` of StackResourceDetail holds JSON (for `Metadata`, the server's document),
optionally narrowed by the sub-keys. The objects of all paths are merged shallowly.

Without `metadata_url`, the hint file (written by heat-cfntools) names the server: `<hint>/v1/`.
Malformed answers are SourceNotAvailable naming the path and what was wrong (upstream crashed on an
XML error and on a missing field).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Mapping

from collector import http_source
from collector.base import Collector, Option, positive_float
from collector.errors import SourceNotAvailable, SourceNotConfigured
from stoker_common.ec2_signature import signed_query
from stoker_common.http_client import HttpClient, with_query
from stoker_common.http_errors import redact_url
from stoker_common.retry_after import http_date

HINT_FILE = "/var/lib/heat-cfntools/cfn-metadata-server"


def parse_path(path: str) -> tuple[str, str, list[str]]:
    """`Res.Field.k1.k2` -> ("Res", "Field", ["k1", "k2"]); SourceNotConfigured if there is no dot."""
    if "." not in path:
        raise SourceNotConfigured(f"[cfn] path {path!r} is not in the format resource.field[.x.y]")
    resource, field, *sub_keys = path.split(".")
    if not resource or not field:
        raise SourceNotConfigured(f"[cfn] path {path!r} is not in the format resource.field[.x.y]")
    return resource, field, sub_keys


def field_from_xml(body: bytes, field: str, where: str) -> str:
    """The text of StackResourceDetail/<field> in a DescribeStackResource answer."""
    # Imported on use: os-collect-config's command line imports every collector for its options.
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceNotAvailable(f"{where}: the answer is not XML ({exc})") from None
    element = root.find(f"DescribeStackResourceResult/StackResourceDetail/{field}")
    if element is None:
        raise SourceNotAvailable(f"{where}: the answer has no StackResourceDetail/{field}")
    return element.text or ""


class CfnCollector(Collector):
    name: ClassVar[str] = "cfn"
    options: ClassVar[Mapping[str, Option]] = {
        "metadata_url": Option(str, None, "the CFN API, e.g. http://host:8000/v1/"),
        "heat_metadata_hint": Option(str, HINT_FILE, "file holding the CFN server's URL"),
        "ca_certificate": Option(str, None, "CA bundle to verify the server with"),
        "stack_name": Option(str, None, "stack name or ARN"),
        "path": Option(str, [], "Resource.Field[.k1.k2]; repeat for several", multi=True),
        "secret_access_key": Option(str, None, "EC2 secret key", secret=True),
        "access_key_id": Option(str, None, "EC2 access key"),
        "deployment_key": Option(str, ["deployments"], "root keys whose deployments are exploded", multi=True),
        "timeout": Option(positive_float, 10.0, "seconds to wait for the server"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], http: HttpClient | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.settings = dict(settings)
        self._clock = clock
        # the server's clock minus ours, learnt from a RequestExpired answer's Date header
        self._skew = timedelta(0)
        paths = settings.get("path") or []
        self.paths: list[str] = [paths] if isinstance(paths, str) else list(paths)
        self.timeout = settings.get("timeout") or 10.0
        keys = settings.get("deployment_key") or ["deployments"]
        self.deployment_keys = [keys] if isinstance(keys, str) else list(keys)
        self._http = http or HttpClient(verify=self.settings.get("ca_certificate") or True)

    def metadata_url(self) -> str:
        url = self.settings.get("metadata_url")
        if url:
            return url
        hint = self.settings.get("heat_metadata_hint") or HINT_FILE
        if os.path.exists(hint):
            with open(hint, encoding="utf-8") as f:
                return f.read().strip() + "/v1/"
        raise SourceNotConfigured(f"no metadata_url configured in [cfn] and no hint file {hint}")

    def collect(self) -> list[tuple[str, Any]]:
        url = self.metadata_url()
        for key in ("access_key_id", "secret_access_key"):
            if not self.settings.get(key):
                raise SourceNotConfigured(f"no {key} configured in [cfn]")
        if not self.paths:
            raise SourceNotConfigured("no path configured in [cfn]")
        merged: dict[str, Any] = {}
        for path in self.paths:
            merged.update(self._one(url, path))
        return [(self.name, merged)]

    def _one(self, url: str, path: str) -> dict:
        resource, field, sub_keys = parse_path(path)
        params = {"Action": "DescribeStackResource", "StackName": self.settings.get("stack_name") or "",
                  "LogicalResourceId": resource}
        resp = self._signed_get(url, params)
        if resp.status == 400 and _aws_fault(resp.body)[0] == "RequestExpired" and self._learn_skew(resp):
            # a guest clock that is off (a first boot before NTP) would otherwise be refused for
            # good: sign again on the server's time, as AWS SDKs correct clock skew
            resp = self._signed_get(url, params)
        where = f"{redact_url(url)} ({path})"
        if not resp.ok:
            raise SourceNotAvailable(f"{where} answered {resp.status} {resp.reason}{_aws_error(resp.body)}")
        text = field_from_xml(resp.body, field, where)
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SourceNotAvailable(f"{where}: {field} is not JSON ({exc})") from None
        for key in sub_keys:
            if not isinstance(value, dict) or key not in value:
                raise SourceNotAvailable(f"{where}: sub-key {key} does not exist")
            value = value[key]
        if not isinstance(value, dict):
            raise SourceNotAvailable(f"{where}: the value is a JSON {type(value).__name__}, not an object")
        return value

    def _signed_get(self, url: str, params: dict[str, str]):
        query = signed_query(self.settings["access_key_id"], self.settings["secret_access_key"],
                             "GET", url, params, now=self._clock() + self._skew)
        return http_source.request(self._http, "GET", with_query(url, query), self.timeout,
                                   headers={"Content-Type": "application/json"})

    def _learn_skew(self, resp) -> bool:
        """Whether the answer's Date gave a new estimate of the server's clock."""
        server_now = http_date((resp.headers.get("Date") or "").strip())
        if server_now is None:
            return False
        skew = server_now - self._clock()
        if abs(skew - self._skew) < timedelta(minutes=1):
            return False  # already signing on the server's time: the refusal has another cause
        self._skew = skew
        return True


def _aws_fault(body: bytes) -> tuple[str | None, str | None]:
    """Code and Message of an AWS-style ErrorResponse; (None, None) if the body is not one."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    return root.findtext("Error/Code"), root.findtext("Error/Message")


def _aws_error(body: bytes) -> str:
    """`: Code: Message` of an AWS-style ErrorResponse, if the body is one."""
    code, message = _aws_fault(body)
    return f": {code}: {message}"[:240] if code else ""
