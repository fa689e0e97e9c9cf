"""A recording fake of a hook's tool (ansible-playbook, puppet, docker-compose, ...).

Installed as an executable named after the tool; on each call it appends {argv, env, cwd} to
`<its dir>/<name>.calls.jsonl`, writes the files its spec lists, then replays the spec's stdout,
stderr and exit code. The spec is `<its dir>/<name>.spec.json`: {"stdout", "stderr", "rc",
"write": {path: content}}; a list of specs is consumed one per call (the last one repeats).
"""
import json
import os
import sys


def main() -> int:
    here, name = os.path.split(os.path.abspath(sys.argv[0]))
    with open(os.path.join(here, name + ".calls.jsonl"), "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}) + "\n")
    with open(os.path.join(here, name + ".spec.json")) as f:
        spec = json.load(f)
    if isinstance(spec, list):
        with open(os.path.join(here, name + ".calls.jsonl")) as f:
            calls = sum(1 for _ in f)
        spec = spec[min(calls, len(spec)) - 1]
    for path, content in (spec.get("write") or {}).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    sys.stdout.write(spec.get("stdout", ""))
    sys.stderr.write(spec.get("stderr", ""))
    return int(spec.get("rc", 0))


if __name__ == "__main__":
    sys.exit(main())
