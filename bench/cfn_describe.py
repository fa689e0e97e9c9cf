"""What answering cfn-init costs: DescribeStackResource for a stack resource against the same call
for a server registered through /servers (whose answer is its cached document).

In process (Flask's test client, SQLite in a temp dir, no HTTP): a stack of one
OS::Heat::DeployedServer with AWS::CloudFormation::Init metadata plus N other resources, then
many signature-v4 DescribeStackResource calls of each kind, alternating in rounds; reports the
median per-call time of each and their ratio, for several N.

    .venv/bin/python bench/cfn_describe.py [--rounds 5] [--calls 200] [--sizes 1,50,200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metadata_server.app import create_app  # noqa: E402
from metadata_server.service import sigv4  # noqa: E402
from metadata_server.service.credentials import token_hash  # noqa: E402
from metadata_server.store import open_store  # noqa: E402

ADMIN = "bench-admin-token"
INIT = {"config": {"files": {"/etc/motd": {"content": {"get_param": "motd"}}},
                   "commands": {"01": {"command": "true"}}}}


def template(others: int) -> dict:
    resources = {"server": {"type": "OS::Heat::DeployedServer",
                            "metadata": {"AWS::CloudFormation::Init": INIT}}}
    for i in range(others):
        resources[f"v{i}"] = {"type": "OS::Heat::Value", "properties": {"value": i}}
    return {"heat_template_version": "2018-08-31",
            "parameters": {"motd": {"type": "string", "default": "hello"}},
            "resources": resources,
            "outputs": {"cfn": {"value": {"get_attr": ["server", "os_collect_config", "cfn"]}}}}


def signed_get(client, clock, cfn: dict, stack_name: str, resource: str):
    query = {"Action": "DescribeStackResource", "ContentType": "JSON", "StackName": stack_name,
             "LogicalResourceId": resource, "Version": "2010-05-15"}
    amz_date = clock().strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": "stoker.bench", "X-Amz-Date": amz_date}
    scope = (amz_date[:8], "0", "127")
    canonical = sigv4.canonical_request("GET", "/v1/", query.items(), headers,
                                        ("host", "x-amz-date"), b"")
    signature = sigv4.signature(cfn["secret_access_key"], amz_date, scope, canonical)
    headers["Authorization"] = (f"{sigv4.ALGORITHM} Credential={cfn['access_key_id']}/"
                                f"{amz_date[:8]}/0/127/aws4_request,"
                                f"SignedHeaders=host;x-amz-date,Signature={signature}")
    response = client.get("/v1/", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(True)


def timed(calls: int, call) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--sizes", default="1,50,200")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        app = create_app(store, token_hash(ADMIN), public_url="http://stoker.bench")
        client, clock = app.test_client(), app.extensions["stoker"].clock
        admin = {"X-Auth-Token": ADMIN}
        registered = client.post("/v1/t1/servers", headers=admin, json={"name": "vm"}).get_json()
        plain = registered["os-collect-config"]["cfn"]
        print(f"{'others':>7} {'stack resource ms':>18} {'registered ms':>14} {'ratio':>6}")
        for size in (int(n) for n in args.sizes.split(",")):
            name = f"s{size}"
            created = client.post("/v1/t1/stacks", headers=admin,
                                  json={"stack_name": name, "template": template(size)})
            stack_id = created.get_json()["stack"]["id"]
            app.extensions["stoker-engine"].wait(stack_id, 300)
            cfn = client.get(f"/v1/t1/stacks/{name}/{stack_id}/outputs/cfn",
                             headers=admin).get_json()["output"]["output_value"]
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(timed(args.calls, lambda: signed_get(client, clock, cfn, name, "server")))
                theirs.append(timed(args.calls, lambda: signed_get(
                    client, clock, plain, plain["stack_name"], "server")))
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"{size:>7} {a:>18.2f} {b:>14.2f} {a / b:>6.2f}")
        app.extensions["stoker-engine"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
