"""Software configs made by templates: SoftwareConfig, StructuredConfig, MultipartMime, CloudConfig.

Each stores one config through the service layer (so inputs and outputs are validated the same
way as through the API); any property change replaces it, giving a new config id.
"""
from __future__ import annotations

import os
import re
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import message_from_string

import yaml

from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service import configs

UUID_LIKE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class SoftwareConfig(Resource):
    type_name = "OS::Heat::SoftwareConfig"
    properties_schema = {"group": Prop("string", default="Heat::Ungrouped"),
                         "config": Prop("string"),
                         "options": Prop("map"),
                         "inputs": Prop("list"),
                         "outputs": Prop("list")}
    attributes_schema = ("config",)

    def config_value(self):
        return self.properties.get("config")

    def handle_create(self, token):
        row = configs.create_config(self.ctx.store, self.ctx.clock, self.ctx.tenant, {
            "name": self.physical_name(), "group": self.properties.get("group") or "Heat::Ungrouped",
            "config": self.config_value(), "options": self.properties.get("options"),
            "inputs": self.properties.get("inputs"), "outputs": self.properties.get("outputs")})
        self.physical_id = row.id

    def handle_delete(self, token):
        if self.physical_id and self.ctx.store.get_config(self.physical_id) is not None:
            # in use by a deployment outside this stack: leave it, as Heat's 500 would
            self.ctx.store.delete_config(self.physical_id)

    def attribute(self, name):
        if name == "config":
            row = self.ctx.store.get_config(self.physical_id) if self.physical_id else None
            return row.body.get("config") if row else None
        return super().attribute(name)


class StructuredConfig(SoftwareConfig):
    type_name = "OS::Heat::StructuredConfig"
    properties_schema = dict(SoftwareConfig.properties_schema, config=Prop("map"))

    def config_value(self):
        return self.properties.get("config") or {}


class CloudConfig(SoftwareConfig):
    type_name = "OS::Heat::CloudConfig"
    properties_schema = {"cloud_config": Prop("map", default={})}

    def config_value(self):
        return "#cloud-config\n" + yaml.safe_dump(self.properties.get("cloud_config") or {},
                                                  default_flow_style=False, sort_keys=False)


class MultipartMime(SoftwareConfig):
    type_name = "OS::Heat::MultipartMime"
    properties_schema = {"parts": Prop("list", default=[]),
                         "group": Prop("string", default="Heat::Ungrouped")}

    def _part_text(self, config: str) -> str:
        if UUID_LIKE.match(config or ""):
            row = self.ctx.store.get_config(config, self.ctx.tenant)
            if row is not None:
                value = row.body.get("config")
                return value if isinstance(value, str) else yaml.safe_dump(value)
        return config or ""

    def config_value(self):
        message = MIMEMultipart()
        for part in self.properties.get("parts") or []:
            text = self._part_text(part.get("config", ""))
            if part.get("type", "text") == "multipart":
                parsed = message_from_string(text)
                if parsed.is_multipart():
                    for sub in parsed.get_payload():
                        message.attach(sub)
                continue
            filename = part.get("filename")
            subtype = part.get("subtype") or (os.path.splitext(filename)[0] if filename else None)
            charset = "us-ascii" if text.isascii() else "utf-8"
            sub = MIMEText(text, subtype or "plain", charset)
            if filename:
                sub.add_header("Content-Disposition", "attachment", filename=filename)
            message.attach(sub)
        return message.as_string()
