"""The timing summary logged at the end of every run: each script, how long, how it ended."""
from __future__ import annotations

from refresher.run_parts import ScriptResult


def summary(results: list[ScriptResult]) -> list[str]:
    if not results:
        return ["timing summary: no script ran"]
    width = max(len(r.path) for r in results)
    lines = ["timing summary:", f"  {'script':<{width}}  {'seconds':>9}  status"]
    for r in results:
        lines.append(f"  {r.path:<{width}}  {r.duration:9.3f}  {r.status}")
    total = sum(r.duration for r in results)
    lines.append(f"  {'total':<{width}}  {total:9.3f}  {len(results)} script(s)")
    return lines
