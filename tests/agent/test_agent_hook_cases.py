"""The script hook's behaviour table, one fixture file per case, all run through the real runner.

Each file under fixtures/hooks/ has `item` (merged over a default script item), `expect` (keys the
signalled payload must have, with these values), optional `absent` (keys it must not have) and
`stderr_contains`.
"""
import json
from pathlib import Path

import pytest

CASES = sorted((Path(__file__).parent / "fixtures" / "hooks").glob("*.json"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_hook_case(case_file, runner, transport, paths, item_factory):
    case = json.loads(case_file.read_text())
    spec = dict(case["item"])
    item = item_factory(ident=spec.pop("id", case_file.stem), inputs=spec.pop("inputs", ()),
                        outputs=spec.pop("outputs", ()), **spec)

    [report] = runner.run([item])

    assert report.outcome == "deployed", case["about"]
    [payload] = transport.payloads(item["id"])
    for key, value in case["expect"].items():
        assert payload.get(key) == value, f"{case['about']}: {key}"
    for key in case.get("absent", []):
        assert key not in payload, f"{case['about']}: {key}"
    if "stderr_contains" in case:
        assert case["stderr_contains"] in payload["deploy_stderr"]
    notify = Path(paths.deployed_dir) / f"{item['id']}.notify.json"
    assert json.loads(notify.read_text()) == payload
    # the script and its outputs stay under the agent's root
    assert (Path(paths.script_working_dir) / item["id"]).exists()
