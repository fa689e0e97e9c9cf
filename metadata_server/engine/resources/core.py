"""Resources with no outside effect: OS::Heat::Value, None, TestResource, RandomString."""
from __future__ import annotations

import random
import string

from metadata_server.engine.errors import StackValidationFailed, UpdateReplace
from metadata_server.engine.resources.base import Prop, Resource

VALUE_TYPES = ("string", "number", "comma_delimited_list", "json", "boolean")


class Value(Resource):
    type_name = "OS::Heat::Value"
    properties_schema = {"value": Prop("any", required=True, update_allowed=True),
                         "type": Prop("string", update_allowed=True, allowed=VALUE_TYPES)}
    attributes_schema = ("value",)
    attributes_from_properties = {"value": "value"}

    @classmethod
    def check(cls, name, properties):
        kind, value = properties["type"], properties["value"]
        path = f"resources.{name}.properties.value"
        if kind == "number":
            try:
                properties["value"] = float(value) if "." in str(value) else int(value)
            except (TypeError, ValueError):
                raise StackValidationFailed(f"Value '{value}' is not a number", path) from None
        elif kind == "boolean":
            text = str(value).lower()
            if text not in ("true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"):
                raise StackValidationFailed(f"Unrecognized value '{value}', acceptable values "
                                            "are: '0', '1', 'f', 'false', ...", path)
            properties["value"] = text in ("true", "1", "yes", "on", "t", "y")
        elif kind == "comma_delimited_list" and isinstance(value, str):
            properties["value"] = value.split(",") if value else []
        elif kind == "string" and not isinstance(value, str):
            raise StackValidationFailed(f"Value {value!r} is not a string", path)
        elif kind == "json" and not isinstance(value, (dict, list)):
            raise StackValidationFailed(f"Value {value!r} is not a map or list", path)

    def handle_create(self, token):
        self.physical_id = self.physical_name()

    def attribute(self, name):
        return self.properties.get("value") if name == "value" else super().attribute(name)


class NoneResource(Resource):
    type_name = "OS::Heat::None"
    accepts_any_properties = True

    def handle_create(self, token):
        self.physical_id = self.physical_name()


class TestResource(Resource):
    """Heat's test resource: a value, waits per action, and failure on request."""
    type_name = "OS::Heat::TestResource"
    properties_schema = {
        "value": Prop("string", default="test_string", update_allowed=True),
        "update_replace": Prop("boolean", default=False, update_allowed=True),
        "update_replace_value": Prop("string"),
        "fail": Prop("boolean", default=False, update_allowed=True),
        "wait_secs": Prop("number", default=0, update_allowed=True),
        "action_wait_secs": Prop("map", update_allowed=True),
        "attr_wait_secs": Prop("number", default=0, update_allowed=True),
        "client_name": Prop("string", default=""),
        "entity_name": Prop("string", default=""),
        "constraint_prop_secs": Prop("number", default=0),
    }
    attributes_schema = ("output",)

    def _run(self, action, token):
        waits = self.properties.get("action_wait_secs") or {}
        seconds = waits.get(action.lower(), self.properties.get("wait_secs") or 0)
        if seconds and token.wait(float(seconds)):
            token.check()
        if self.properties.get("fail"):
            raise ValueError(f"Test Resource failed {self.name}")

    def handle_create(self, token):
        self.physical_id = self.physical_name()
        self._run("CREATE", token)

    def handle_update(self, new_properties, changed, token):
        if new_properties.get("update_replace") or (
                "update_replace_value" in changed):
            raise UpdateReplace()
        self.properties = new_properties
        self._run("UPDATE", token)

    def handle_delete(self, token):
        waits = self.properties.get("action_wait_secs") or {}
        if waits.get("delete"):
            token.wait(float(waits["delete"]))

    def attribute(self, name):
        return self.properties.get("value") if name == "output" else super().attribute(name)


CLASSES = {"lettersdigits": string.ascii_letters + string.digits,
           "letters": string.ascii_letters, "lowercase": string.ascii_lowercase,
           "uppercase": string.ascii_uppercase, "digits": string.digits,
           "hexdigits": string.digits + "ABCDEF", "octdigits": string.octdigits}


class RandomString(Resource):
    type_name = "OS::Heat::RandomString"
    properties_schema = {
        "length": Prop("integer", default=32, range=(1, 512)),
        "character_classes": Prop("list", default=[{"class": "lettersdigits", "min": 1}]),
        "character_sequences": Prop("list", default=[]),
        "salt": Prop("string"),
    }
    attributes_schema = ("value",)
    restore_keys = ("value",)

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        length = properties["length"]
        if not 1 <= length <= 512:
            raise StackValidationFailed(f"{length} is out of range (min: 1, max: 512)",
                                        f"{path}.length")
        total = 0
        for index, item in enumerate(properties["character_classes"] or []):
            item.setdefault("class", "lettersdigits")
            item.setdefault("min", 1)
            if item["class"] not in CLASSES:
                raise StackValidationFailed(f"\"{item['class']}\" is not an allowed value "
                                            f"{sorted(CLASSES)}",
                                            f"{path}.character_classes[{index}].class")
            total += int(item["min"])
        for item in properties["character_sequences"] or []:
            item.setdefault("min", 1)
            total += int(item["min"])
        if total > length:
            raise StackValidationFailed("Length property cannot be smaller than combined "
                                        "character class and character sequence minimums", path)

    def handle_create(self, token):
        self.physical_id = self.physical_name()
        self.data["value"] = self._generate()

    def _generate(self) -> str:
        rng = random.SystemRandom()
        pools = [CLASSES[c["class"]] for c in self.properties["character_classes"] or []]
        mins = [int(c["min"]) for c in self.properties["character_classes"] or []]
        for seq in self.properties["character_sequences"] or []:
            pools.append(seq["sequence"])
            mins.append(int(seq["min"]))
        chars = [rng.choice(pool) for pool, count in zip(pools, mins) for _ in range(count)]
        union = "".join(sorted(set("".join(pools)))) or CLASSES["lettersdigits"]
        chars += [rng.choice(union) for _ in range(self.properties["length"] - len(chars))]
        return "".join(rng.sample(chars, len(chars)))

    def reference_id(self):
        return self.data.get("value") or self.name

    def attribute(self, name):
        return self.data.get("value") if name == "value" else super().attribute(name)
