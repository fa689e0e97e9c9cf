"""`ec2`: the EC2-style metadata service (169.254.169.254), fetched once per instance.

As upstream: data already cached in `<cachedir>/ec2.json` is used as it is (instance metadata does
not change), a mounted config drive's ec2/latest/meta-data.json is preferred to HTTP, and otherwise
the tree under `metadata_url` is walked: a listing ends in `/`, an entry `0=my-key` stands for the
directory `0/`, directories become nested objects and leaves are their text.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, ClassVar, Mapping

from collector import config_drive, http_source
from collector.base import Collector, Option, positive_float
from collector.errors import SourceNotAvailable
from stoker_common.http_client import HttpClient

log = logging.getLogger(__name__)

DEFAULT_URL = "http://169.254.169.254/latest/meta-data"
# A malicious or broken service must not make the walk endless.
MAX_ENTRIES = 2000


class Ec2Collector(Collector):
    name: ClassVar[str] = "ec2"
    options: ClassVar[Mapping[str, Option]] = {
        "metadata_url": Option(str, DEFAULT_URL, "root of the metadata tree"),
        "timeout": Option(positive_float, 10.0, "seconds to wait for each answer"),
        "config_drive_path": Option(str, None, "where a config drive is mounted (default: /proc/mounts)"),
    }
    explodes_deployments: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any], http: HttpClient | None = None):
        self.metadata_url = (settings.get("metadata_url") or DEFAULT_URL).rstrip("/")
        self.timeout = settings.get("timeout") or 10.0
        self.cachedir = settings.get("_cachedir")
        self.config_drive_path = settings.get("config_drive_path")
        self._http = http or HttpClient()
        self._data: dict | None = None

    def collect(self) -> list[tuple[str, Any]]:
        if self._data is None:
            self._data = self._cached() or config_drive.ec2_metadata(self.config_drive_path) or self._walk()
        return [(self.name, self._data)]

    def _cached(self) -> dict | None:
        if not self.cachedir:
            return None
        path = os.path.join(self.cachedir, "ec2.json")
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            log.warning("collector ec2: cached %s is unreadable (%s); fetching again", path, exc)
            return None
        if not data or not isinstance(data, dict):
            log.warning("collector ec2: cached %s is empty; fetching again", path)
            return None
        return data

    def _walk(self) -> dict:
        count = 0

        def walk(url: str) -> dict:
            nonlocal count
            tree: dict[str, Any] = {}
            for entry in self._get(url + "/").splitlines():
                entry = entry.strip()
                if not entry:
                    continue
                count += 1
                if count > MAX_ENTRIES:
                    raise SourceNotAvailable(f"{self.metadata_url}: more than {MAX_ENTRIES} entries; giving up")
                if "=" in entry:
                    entry = entry.split("=", 1)[0] + "/"
                if entry.endswith("/"):
                    key = entry.rstrip("/")
                    tree[key] = walk(f"{url}/{key}")
                else:
                    tree[entry] = self._get(f"{url}/{entry}")
            return tree

        return walk(self.metadata_url)

    def _get(self, url: str) -> str:
        resp = http_source.request(self._http, "GET", url, self.timeout)
        http_source.require_success(resp, url)
        return resp.text
