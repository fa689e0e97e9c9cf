"""The metadata list matches what real Heat serves (shared/conformance/deployment-metadata.json).

The configs are created as Heat's SoftwareConfig resource would create them (property defaults
filled in) and derived by the server; StructuredConfig's get_input substitution is the engine's
job, so the os-apply-config config is given already substituted.
"""
import json
from pathlib import Path

import pytest

from tests.conftest import shared_dir

SHARED = shared_dir()
CONFORMANCE = SHARED / "conformance" / "deployment-metadata.json" if SHARED else Path("/nonexistent")
VOLATILE = ("id", "creation_time")

pytestmark = pytest.mark.skipif(not CONFORMANCE.exists(), reason="conformance data not present")


def _strip(item):
    return {k: v for k, v in item.items() if k not in VOLATILE}


def test_metadata_matches_heat(api):
    heat = json.loads(CONFORMANCE.read_text())
    by_resource = {}
    for item in heat["metadata"]:
        resource = next(i["value"] for i in item["inputs"] if i["name"] == "deploy_resource_name")
        by_resource[resource] = item
    stack_id = next(i["value"] for i in heat["metadata"][0]["inputs"]
                    if i["name"] == "deploy_stack_id")
    # the source configs, as the resource would store them
    script_inputs = [i for i in by_resource["adep"]["inputs"] if not i["name"].startswith("deploy_")]
    script = api.post("/v1/t1/software_configs", {
        "name": by_resource["adep"]["name"], "group": "script",
        "config": by_resource["adep"]["config"],
        "inputs": [{k: v for k, v in i.items() if k != "value"} for i in script_inputs],
        "outputs": by_resource["adep"]["outputs"], "options": by_resource["adep"]["options"],
    }).json["software_config"]
    structured = api.post("/v1/t1/software_configs", {
        "name": by_resource["sdep"]["name"], "group": "os-apply-config",
        "config": by_resource["sdep"]["config"]}).json["software_config"]
    template = heat["template"]["resources"]
    # created in the order Heat created them: zdep, sdep, adep
    for resource, config, name in (("zdep", script, "zz-named-deployment"),
                                   ("sdep", structured, None), ("adep", script, None)):
        body = {"config_id": config["id"], "server_id": "srv-1", "signal_transport": "NO_SIGNAL",
                "input_values": template[resource]["properties"].get("input_values", {}),
                "stack_id": stack_id, "resource_name": resource}
        if name:
            body["name"] = name
        response = api.post("/v1/t1/software_deployments", body)
        assert response.status_code == 200
        deployment = response.json["software_deployment"]
        assert (deployment["status"], deployment["status_reason"]) == (
            "COMPLETE", "Not waiting for outputs signal")

    ours = api.get("/v1/t1/software_deployments/metadata/srv-1").json["metadata"]
    assert [_strip(i) for i in ours] == [_strip(i) for i in heat["metadata"]]
