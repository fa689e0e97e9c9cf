"""A stack's resources and their dependencies as an SVG picture (pure: rows in, markup out).

Resources are laid out in columns by dependency depth (a resource sits right of everything it
depends on) and drawn as boxes that carry their status three ways: a fill colour, an icon, and
the status text itself, so nothing depends on telling colours apart.
"""
from __future__ import annotations

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 220, 64, 60, 18, 12
MAX_NODES = 500      # beyond it the picture is unreadable anyway; the page's table lists all
LABEL_CHARS = 28

# status -> (css class, icon); the class sets the colour, the icon and text say it in words
KINDS = {"COMPLETE": ("ok", "\u2714"), "FAILED": ("failed", "\u2716"),
         "IN_PROGRESS": ("busy", "\u21bb"), "INIT": ("waiting", "\u25cb")}


def status_kind(status: str) -> tuple[str, str]:
    """('ok'|'failed'|'busy'|'waiting', icon) for a status such as CREATE_COMPLETE."""
    for suffix, kind in KINDS.items():
        if status.endswith(suffix):
            return kind
    return ("waiting", "\u25cb")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "\u2026"


def layers(names: list[str], depends_on: dict[str, list[str]]) -> dict[str, int]:
    """Each resource's column: 0 with no dependencies, else one past its deepest dependency.
    Cycles (a template the engine would reject) and unknown names are cut, not followed."""
    depth: dict[str, int] = {}
    known = set(names)

    def visit(name: str, path: frozenset) -> int:
        if name in depth:
            return depth[name]
        deps = [d for d in depends_on.get(name, []) if d in known and d not in path]
        value = 1 + max((visit(d, path | {name}) for d in deps), default=-1)
        depth[name] = value
        return value
    for name in names:
        visit(name, frozenset())
    return depth


def render(resources: list[dict], depends_on: dict[str, list[str]]) -> Markup:
    """`resources`: dicts with name, type and status ("CREATE_COMPLETE"); `depends_on`: name ->
    names it depends on."""
    resources = sorted(resources, key=lambda r: r["name"])[:MAX_NODES]
    if not resources:
        return Markup('<p class="empty">This stack has no resources yet.</p>')
    depth = layers([r["name"] for r in resources], depends_on)
    columns: dict[int, list[dict]] = {}
    for r in resources:
        columns.setdefault(depth[r["name"]], []).append(r)
    where = {}
    for col, members in columns.items():
        for row, r in enumerate(members):
            where[r["name"]] = (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * BOX_W + max(columns) * GAP_X
    height = PAD * 2 + max(len(m) for m in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-labelledby="graph-title"><title id="graph-title">Resource graph: '
             f'{len(resources)} resources, arrows point from a resource to what it depends '
             f'on</title>',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
             'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/>'
             '</marker></defs>']
    for r in resources:
        x, y = where[r["name"]]
        for dep in depends_on.get(r["name"], []):
            if dep in where and depth[dep] < depth[r["name"]]:
                dx, dy = where[dep]
                parts.append(f'<line class="edge" x1="{x}" y1="{y + BOX_H / 2}" '
                             f'x2="{dx + BOX_W}" y2="{dy + BOX_H / 2}" marker-end="url(#arrow)"/>')
    for r in resources:
        x, y = where[r["name"]]
        kind, icon = status_kind(r["status"])
        name, status = escape(r["name"]), escape(r["status"])
        parts.append(
            f'<g class="node {kind}" data-resource="{name}" data-status="{status}">'
            f'<title>{name} ({escape(r["type"])}): {status}'
            f'{" - " + escape(r["reason"]) if r.get("reason") else ""}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text class="name" x="{x + 10}" y="{y + 20}">{escape(_short(r["name"]))}</text>'
            f'<text class="type" x="{x + 10}" y="{y + 38}">{escape(_short(r["type"]))}</text>'
            f'<text class="status" x="{x + 10}" y="{y + 56}">{icon} {status}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
