"""OS::Heat::SoftwareComponent: one config per action, each with the tool that applies it.

Stored as one config of group `component` whose config is `{"configs": [...]}`; a
SoftwareDeployment of it carries the whole list in its derived config, and the agent picks
the entry whose `actions` hold the deployment's `deploy_action` and runs its `config` with the
hook named by its `tool` (agent/deployment.py select_component). The deployment runs for the
actions some entry lists, whatever its own `actions` say (software_deployment.py).
"""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.software_config import SoftwareConfig
from metadata_server.service import configs

GROUP = "component"
ACTIONS = ("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME")
DEFAULT_ACTIONS = ["CREATE", "UPDATE"]
ENTRY_KEYS = ("actions", "config", "tool")


class SoftwareComponent(SoftwareConfig):
    type_name = "OS::Heat::SoftwareComponent"
    properties_schema = {"configs": Prop("list", required=True),
                         "inputs": Prop("list"), "outputs": Prop("list"),
                         "options": Prop("map")}

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties.configs"
        taken: dict[str, int] = {}
        for index, entry in enumerate(properties.get("configs") or []):
            where = f"{path}[{index}]"
            if not isinstance(entry, dict):
                raise StackValidationFailed(f"{entry!r} is not a map", where)
            unknown = sorted(set(entry) - set(ENTRY_KEYS))
            if unknown:
                raise StackValidationFailed(f"Unknown Property {unknown[0]}", f"{where}.{unknown[0]}")
            if not entry.get("tool"):
                raise StackValidationFailed("Property tool not assigned", f"{where}.tool")
            actions = entry.get("actions", DEFAULT_ACTIONS)
            if not isinstance(actions, list):
                raise StackValidationFailed(f"{actions!r} is not a list", f"{where}.actions")
            for number, action in enumerate(actions):
                if action not in ACTIONS:
                    raise StackValidationFailed(f"\"{action}\" is not an allowed value {list(ACTIONS)}",
                                                f"{where}.actions[{number}]")
                if action in taken:
                    # the agent runs one config per action; Heat refuses a second one too
                    raise StackValidationFailed(
                        f"Defining more than one configuration for the same action in "
                        f"SoftwareComponent \"{name}\" is not allowed: {action} is in configs "
                        f"[{taken[action]}] and [{index}]", f"{where}.actions[{number}]")
                taken[action] = index

    def config_value(self):
        return {"configs": [{"actions": list(e.get("actions", DEFAULT_ACTIONS)),
                             "config": e.get("config") or "", "tool": e["tool"]}
                            for e in self.properties["configs"]]}

    def handle_create(self, token):
        row = configs.create_config(self.ctx.store, self.ctx.clock, self.ctx.tenant, {
            "name": self.physical_name(), "group": GROUP, "config": self.config_value(),
            "options": self.properties.get("options"), "inputs": self.properties.get("inputs"),
            "outputs": self.properties.get("outputs")})
        self.physical_id = row.id


def component_actions(config_body: dict) -> set[str]:
    """The actions some entry of a stored component config lists (what its deployments run for)."""
    configs = (config_body.get("config") or {}).get("configs") if isinstance(config_body.get("config"), dict) else None
    return {action for entry in configs or [] if isinstance(entry, dict)
            for action in entry.get("actions") or DEFAULT_ACTIONS}
