"""OS::Heat::ResourceGroup and the deployment groups built on it.

A group is a nested stack whose template the group writes: members named "0", "1", ... (or, for
deployment groups, by the keys of `servers`), with index_var replaced in every string of the
member properties. Attributes are read from the members of the nested stack.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources import group_rolling
from metadata_server.engine.resources.base import Prop, Resource, select_path
from metadata_server.engine.resources.nested import ChildStack
from metadata_server.engine.resources.software_deployment import SoftwareDeployment


def _replace_index(value: Any, index_var: str, index: str) -> Any:
    if isinstance(value, str):
        return value.replace(index_var, index)
    if isinstance(value, list):
        return [_replace_index(v, index_var, index) for v in value]
    if isinstance(value, dict):
        return {k: _replace_index(v, index_var, index) for k, v in value.items()}
    return value


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class _Group(ChildStack, Resource):
    """What every group shares: a generated nested stack and attributes read from members."""
    attributes_schema = None

    @classmethod
    def member_count(cls, properties: dict) -> tuple[int, dict] | None:
        """(how many members, the first member's definition) from properties known before the
        stack is created (the engine counts the tree of nested stacks with it); None while a
        property that decides it is not known yet."""
        raise NotImplementedError

    def members(self) -> dict[str, dict]:
        """Member name -> member definition, in member order."""
        raise NotImplementedError

    def _check_size(self) -> None:
        """The members are copies of one definition: refuse them before making them, when all
        of them together would be larger than any function result may be."""
        from metadata_server.engine.errors import RequestLimitExceeded
        from metadata_server.engine.limits import named
        from metadata_server.engine.template.functions.sizes import measure

        known = self.member_count(self.properties)
        if known is None:
            return
        limits = self.ctx.limits
        count, member = known
        cap = limits.max_function_result_size
        if count and count * measure(member, cap) > cap:
            raise RequestLimitExceeded(
                f"{count} members of {measure(member, cap)} each are larger than the limit "
                f"({named(limits, 'max_function_result_size')})")

    def _batched(self, members: dict[str, dict], policy_key: str) -> dict[str, dict]:
        """update_policy batch_create (on create) or, for the deployment groups, rolling_update
        (on update): members in batches of max_batch_size, each batch after the previous one
        (pause_time and min_in_service are not honoured here; ResourceGroup runs its rolling
        updates batch by batch, group_rolling.py)."""
        policy = (self.definition.update_policy if self.definition is not None else None) or {}
        size = (policy.get(policy_key) or {}).get("max_batch_size") if isinstance(policy, dict) else None
        if not size:
            return members
        names, size = list(members), max(1, int(size))
        for index, name in enumerate(names):
            batch = index // size
            if batch:
                previous = names[(batch - 1) * size: batch * size]
                members[name] = dict(members[name], depends_on=previous)
        return members

    def _definition(self, policy_key: str | None = "batch_create",
                    members: dict[str, dict] | None = None) -> dict:
        parent = self.ctx.definition or {}
        members = self.members() if members is None else members
        template = {"heat_template_version": "2015-04-30",
                    "resources": self._batched(members, policy_key)}
        return {"template": json.dumps(template), "template_name": f"{self.name} (group)",
                "files": parent.get("files") or {}, "environment": parent.get("environment"),
                "environment_files": parent.get("environment_files") or [], "parameters": {}}

    def handle_create(self, token):
        self._check_size()
        self.physical_id = self.ctx.children.create_child(self.ctx, self.name, self._definition())
        self.checkpoint()
        self.ctx.children.run_child_create(self.physical_id, token)

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self._check_size()
        self.ctx.children.update_child(self.physical_id, self._definition("rolling_update"), token)

    def _names(self) -> list[str]:
        return list(self.members())

    def _member_attr(self, member: str, attr: str | None) -> Any:
        return self.ctx.children.child_attribute(self.physical_id, member, attr)

    def _each(self, attr: str | None) -> Iterator[tuple[str, Any]]:
        """(member, its attribute) for every member, refused as soon as they are larger
        together than a function result may be: a thousand members of a megabyte each would
        otherwise all be read before anything measured them."""
        from metadata_server.engine.template.functions.sizes import check_size, measure

        limits = self.ctx.limits
        total = 0
        for name in self._names():
            value = self._member_attr(name, attr)
            total += 2 + len(name) + measure(value, limits.max_function_result_size)
            check_size(limits, "get_attr", total)
            yield name, value

    def attribute_at(self, name, path):
        if name == "attributes" and path and self.physical_id:
            # [group, attributes, <attr>, ...]: {member: member.<attr>}
            return select_path(dict(self._each(str(path[0]))), tuple(path[1:]))
        return super().attribute_at(name, path)

    def attribute(self, name):
        if not self.physical_id:
            return None
        if name == "refs":
            return [value for _, value in self._each(None)]
        if name == "refs_map":
            return dict(self._each(None))
        if name == "attributes":
            return None  # needs a path: [group, attributes, <attr>] is resolved by select_path
        if name == "removed_rsrc_list":
            return list(self.data.get("removed", []))
        if name.startswith("resource."):
            parts = name.split(".")
            return self._member_attr(parts[1], ".".join(parts[2:]) or None)
        return [value for _, value in self._each(name)]


class ResourceGroup(_Group):
    type_name = "OS::Heat::ResourceGroup"
    properties_schema = {
        "count": Prop("integer", default=1, update_allowed=True),
        "index_var": Prop("string", default="%index%"),
        "resource_def": Prop("map", required=True, update_allowed=True),
        "removal_policies": Prop("list", default=[], update_allowed=True),
        "removal_policies_mode": Prop("string", default="append", allowed=("append", "update")),
    }

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        if properties["count"] < 0:
            raise StackValidationFailed(f"{properties['count']} is out of range (min: 0)",
                                        f"{path}.count")
        if len(properties["index_var"]) < 3:
            raise StackValidationFailed("length must be at least 3", f"{path}.index_var")
        if "type" not in properties["resource_def"]:
            raise StackValidationFailed("Property type not assigned", f"{path}.resource_def.type")

    @classmethod
    def member_count(cls, properties):
        count, definition = _count(properties.get("count", 1)), properties.get("resource_def")
        index_var = properties.get("index_var", "%index%")
        if count is None or not isinstance(definition, dict) or not isinstance(index_var, str):
            return None
        member = {"type": definition.get("type"),
                  "properties": _replace_index(definition.get("properties") or {}, index_var, "0")}
        if definition.get("metadata"):
            member["metadata"] = _replace_index(definition["metadata"], index_var, "0")
        return count, member

    def _blacklist(self) -> list[str]:
        """Names removed by removal_policies: skipped forever (Heat's name blacklist)."""
        listed = {str(n) for policy in self.properties.get("removal_policies") or []
                  for n in policy.get("resource_list", [])}
        known = set() if self.properties.get("removal_policies_mode") == "update" else set(
            self.data.get("removed", []))
        return sorted(known | listed, key=lambda n: (len(n), n))

    def member(self, name: str) -> dict:
        """The definition of the member called `name` (index_var replaced by it)."""
        definition = self.properties["resource_def"]
        index_var = self.properties["index_var"]
        member = {"type": definition["type"],
                  "properties": _replace_index(definition.get("properties") or {},
                                               index_var, name)}
        if definition.get("metadata"):
            member["metadata"] = _replace_index(definition["metadata"], index_var, name)
        return member

    def names_for(self, size: int) -> list[str]:
        """The group's first `size` member names: indexes, skipping removed ones."""
        blacklist, names, index = set(self._blacklist()), [], 0
        while len(names) < size:
            name = str(index)
            index += 1
            if name not in blacklist:
                names.append(name)
        return names

    def members(self):
        self.data["removed"] = self._blacklist()
        return {name: self.member(name) for name in self.names_for(self.properties["count"])}

    def handle_update(self, new_properties, changed, token):
        """With update_policy rolling_update and a changed member definition, Heat's batches
        first (group_rolling.py); then the members as the properties say."""
        before = self.members() if self.physical_id else {}
        self.properties = new_properties
        if before and group_rolling.policy(self) is not None and any(
                n in before and before[n] != d for n, d in self.members().items()):
            group_rolling.roll(self, before, token)
        self._check_size()
        self.update_members(self.members(), token)

    def update_members(self, members: dict[str, dict], token) -> None:
        self.ctx.children.update_child(self.physical_id, self._definition(None, members), token)

    def continue_interrupted(self, step, token):
        """After the nested stack's interrupted batch, the members a rolling update had not
        reached yet are updated together (the batches' state is not kept)."""
        super().continue_interrupted(step, token)
        if step == "UPDATE" and group_rolling.policy(self) is not None:
            self.update_members(self.members(), token)


class SoftwareDeploymentGroup(_Group):
    type_name = "OS::Heat::SoftwareDeploymentGroup"
    member_type = "OS::Heat::SoftwareDeployment"
    properties_schema = {k: v for k, v in SoftwareDeployment.properties_schema.items()
                         if k != "server"}
    properties_schema["servers"] = Prop("map", required=True, update_allowed=True)

    @classmethod
    def member_count(cls, properties):
        servers = properties.get("servers")
        if not isinstance(servers, dict):
            return None
        common = {k: v for k, v in properties.items() if k != "servers" and v is not None}
        first = next(iter(servers.values()), None)
        return len(servers), {"type": cls.member_type, "properties": dict(common, server=first)}

    def members(self):
        common = {k: v for k, v in self.properties.items() if k != "servers" and v is not None}
        return {name: {"type": self.member_type, "properties": dict(common, server=server)}
                for name, server in (self.properties.get("servers") or {}).items()}

    def attribute(self, name):
        plural = {"deploy_stdouts": "deploy_stdout", "deploy_stderrs": "deploy_stderr",
                  "deploy_status_codes": "deploy_status_code"}
        if not self.physical_id:
            return None
        if name in ("refs", "refs_map", "show") or name.startswith("resource."):
            return super().attribute(name)
        return dict(self._each(plural.get(name, name)))


class StructuredDeploymentGroup(SoftwareDeploymentGroup):
    type_name = "OS::Heat::StructuredDeploymentGroup"
    member_type = "OS::Heat::StructuredDeployment"
    properties_schema = dict(SoftwareDeploymentGroup.properties_schema,
                             input_key=Prop("string", default="get_input"),
                             input_values_validate=Prop("string", default="LAX",
                                                        allowed=("LAX", "STRICT")))
