"""AWS::IAM::User, AWS::IAM::AccessKey and OS::Heat::AccessPolicy: EC2 key pairs for cfn-init
and cfn tools, scoped to the stack's resources as Heat scopes its stack users.

Heat makes a keystone user in the stack's domain for a User and an EC2 credential for each of
its AccessKeys; stoker's principals with EC2 key pairs are its servers, so each AccessKey
registers a stoker server record of its own (no agent, no deployments, named after the key's
physical name) whose key pair is the AccessKey's. The CFN API finds the key like any server's
and asks `access_allowed` whether it may read a resource: only a resource of the key's own
stack, and, when the key's user has `Policies`, only one an OS::Heat::AccessPolicy of them
lists (Heat's User.access_allowed). The secret is kept in the resource's data (the
SecretAccessKey attribute gives it, as Heat does) and in the server's credential; it is never
put in a message or an event.
"""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service import servers
from metadata_server.service.errors import NotFound

USER = "AWS::IAM::User"
ACCESS_KEY = "AWS::IAM::AccessKey"
ACCESS_POLICY = "OS::Heat::AccessPolicy"


def _not_implemented(name: str, properties: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        if properties.get(key) is not None:
            raise StackValidationFailed(f"Property {key} not implemented yet",
                                        f"resources.{name}.properties.{key}")


class User(Resource):
    """A stack user. Its Ref is its physical name (`<stack>-<name>-<short id>`), which an
    AccessKey's UserName names; `Policies` are names of OS::Heat::AccessPolicy resources (a
    map, an inline policy, is ignored, as Heat ignores it)."""
    type_name = USER
    properties_schema = {"Path": Prop("string"), "Groups": Prop("list"),
                         "LoginProfile": Prop("map"),
                         "Policies": Prop("list", update_allowed=True)}

    @classmethod
    def check(cls, name, properties):
        _not_implemented(name, properties, ("Path", "Groups"))
        if properties.get("LoginProfile") is not None:
            raise StackValidationFailed("LoginProfile is not supported by stoker: a stack "
                                        "user signs in with an AccessKey only",
                                        f"resources.{name}.properties.LoginProfile")

    def _keep_policies(self, properties: dict) -> None:
        self.data["policies"] = [p for p in properties.get("Policies") or []
                                 if isinstance(p, str)]

    def handle_create(self, token):
        self.physical_id = self.physical_name()
        self._keep_policies(self.properties)

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self._keep_policies(new_properties)


class AccessPolicy(Resource):
    """The resources a user with this policy may read; its Ref is its name (Heat's)."""
    type_name = ACCESS_POLICY
    properties_schema = {"AllowedResources": Prop("list", required=True)}

    def handle_create(self, token):
        allowed = [str(r) for r in self.properties["AllowedResources"]]
        for resource in allowed:
            if self.ctx.finder.find_resource(self.ctx.stack_id, resource) is None:
                raise StackValidationFailed(f"AccessPolicy resource {resource} not in stack",
                                            f"resources.{self.name}.properties.AllowedResources")
        self.data["allowed"] = allowed

    def reference_id(self):
        return self.name


class AccessKey(Resource):
    """An EC2 key pair of a User of this stack. Its Ref is the access key id."""
    type_name = ACCESS_KEY
    properties_schema = {"UserName": Prop("string", required=True),
                         "Serial": Prop("integer"), "Status": Prop("string",
                                                                   allowed=("Active", "Inactive"))}
    attributes_schema = ("UserName", "SecretAccessKey")

    @classmethod
    def check(cls, name, properties):
        _not_implemented(name, properties, ("Serial", "Status"))

    def handle_create(self, token):
        reference = self.properties["UserName"]
        user = self.ctx.finder.find_resource(self.ctx.stack_id, reference)
        if user is None or user.get("type") != USER:
            raise StackValidationFailed(f"could not find user {reference} (UserName names an "
                                        f"{USER} of this stack by its Ref)",
                                        f"resources.{self.name}.properties.UserName")
        record, issued = servers.register_server(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                                 {"name": self.physical_name()})
        # the server's token is never handed out: the key pair is the only credential used
        self.data.update(principal=record.id, user=user["name"],
                         user_name=user.get("physical_id"),
                         secret_access_key=issued.secret_access_key)
        self.physical_id = issued.access_key_id

    def handle_delete(self, token):
        if self.data.get("principal"):
            try:
                servers.delete_server(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                      self.data["principal"])
            except NotFound:
                pass

    def attribute(self, name):
        if name == "UserName":
            return self.data.get("user_name")
        if name == "SecretAccessKey":
            return self.data.get("secret_access_key")
        return super().attribute(name)


def access_allowed(rows: list[dict], principal_id: str, resource_name: str) -> bool:
    """Whether the stack user whose key belongs to the stoker server `principal_id` may read
    `resource_name` of the stack whose resource rows these are (Heat's
    Stack.access_allowed with an AccessKey's handler): the key must be one of this stack's,
    and each of its user's policies must list the resource."""
    by_name = {row["name"]: row for row in rows}
    key = next((row for row in rows if row.get("type") == ACCESS_KEY
                and (row.get("data") or {}).get("principal") == principal_id), None)
    if key is None or resource_name not in by_name:
        return False
    user = by_name.get(key["data"].get("user"))
    if user is None or user.get("type") != USER:
        return False
    for policy in (user.get("data") or {}).get("policies") or []:
        found = by_name.get(policy)
        if found is None:
            return False   # Heat: a policy not in the stack allows nothing
        if found.get("type") == ACCESS_POLICY and \
                resource_name not in ((found.get("data") or {}).get("allowed") or []):
            return False
    return True


TYPES = (User, AccessKey, AccessPolicy)
