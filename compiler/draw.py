"""Pictures of a checked IR: Graphviz DOT and Mermaid text, and SVG/PNG through Graphviz `dot` when installed.

    >>> from compiler import check_file                     # doctest: +SKIP
    >>> ir = check_file("specs/quickstart.msd")             # doctest: +SKIP
    >>> render(ir, "quickstart.png")                        # doctest: +SKIP

The picture reads left to right:

- **features**, one cluster per field (user, item, …) and partition; a `specific` feature (one embedding table
  per scenario) is drawn as a stacked orange box, a shared one as a blue box;
- **blocks** in three clusters by how they hold parameters: shared across scenarios, per scenario (replicated
  `per scenario:` or scenario-aware like `star`, `pn`, `scenario_embed`), per task (`per task:`); each with its
  name, kind, output type and, when `counts` is given, its parameter count;
- **tasks** as output nodes: a head points at the tasks it predicts; a composed task (`ctcvr = product(ctr,
  cvr)`) is drawn from its components;
- **objective terms** as notes (`loss: 0.1 × l2(h)`) attached by dashed edges to the nodes and tasks they read.

`counts` maps a node name to its parameters by axis, `{"shared": n, "scenario": n, "task": n}` (all scenarios'
or tasks' copies together), as the lowering reports them; without it no counts are drawn.

Pure Python: no torch, and no Graphviz needed for `.dot` / `.mmd`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from compiler.ir import IR
from compiler.passes.check_partitions import STRUCTURAL, per_scenario
from compiler.schema import Bound, Ref

__all__ = ["DrawError", "to_dot", "to_mermaid", "render", "FORMATS"]

FIELD_ORDER = ("user", "item", "context", "trigger", "behavior", "none")

# Colours: blue = shared, orange = per scenario, green = per task / outputs, yellow = objectives.
STYLE = {
    "shared_feature": ("#E3EEFB", "#4A78B5"),
    "specific_feature": ("#FDE4C8", "#D9822B"),
    "shared": ("#F4F6F8", "#8A96A3"),
    "scenario": ("#FFF3E0", "#D9822B"),
    "task": ("#E8F6E8", "#4C9A4C"),
    "output": ("#CDEFCD", "#2E7D32"),
    "objective": ("#FFF9D6", "#B59A1B"),
}
GRAPHVIZ_FORMATS = ("svg", "png", "pdf")
FORMATS = ("dot", "gv", "mmd", *GRAPHVIZ_FORMATS)


class DrawError(RuntimeError):
    """A picture cannot be made (no Graphviz for an image format, an unknown extension, `dot` failed)."""


# ---------------------------------------------------------------------------------------------- the model
# Both renderers draw the same thing: `_Picture(ir, counts)` decides groups, labels and edges once.


def _per_scenario(data: dict) -> bool:
    try:
        return per_scenario(data)
    except KeyError:  # an unknown block kind (only in an unchecked IR)
        return data.get("replicate") == "scenario"


def _count(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            text = f"{n / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return str(n)


def _count_line(entry: dict | None) -> str | None:
    """`12.3k params (shared 4.1k · per scenario 8.2k)`, or None when there is nothing to say."""
    if not entry:
        return None
    parts = {axis: int(entry.get(axis) or 0) for axis in ("shared", "scenario", "task")}
    total = sum(parts.values())
    if total == 0:
        return "no params"
    words = {"shared": "shared", "scenario": "per scenario", "task": "per task"}
    nonzero = [axis for axis, n in parts.items() if n]
    if nonzero == ["shared"]:
        return f"{_count(total)} params"
    if len(nonzero) == 1:
        return f"{_count(total)} params, {words[nonzero[0]]}"
    return f"{_count(total)} params (" + " · ".join(f"{words[a]} {_count(parts[a])}" for a in nonzero) + ")"


def _value(value) -> str:
    """A parameter value as the spec would write it."""
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Bound):
        return f"{value.kind}(…)"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _names(items: list[str], most: int = 4) -> str:
    return ", ".join(items[:most]) + (", …" if len(items) > most else "")


def _block_kind(data: dict) -> str:
    kind = data.get("kind", "?")
    params = data.get("params") or {}
    if kind in ("moe", "ple", "cgc") and params.get("over") not in (None, "none"):
        return f"{kind} over {params['over']}"
    if kind == "embed":
        filters = [f"{k}={params[k]}" for k in ("field", "partition") if params.get(k, "any") != "any"]
        return f"embed({', '.join(filters)})" if filters else kind
    return kind


class _Picture:
    """What to draw, independent of the output language."""

    def __init__(self, ir: IR, counts: dict | None):
        self.ir, self.g, self.counts = ir, ir.graph, counts or {}
        self.node_lines: dict[str, list[str]] = {}  # name → label lines (the first is the title)
        self.node_style: dict[str, str] = {}  # name → STYLE key
        self.feature_groups: dict[tuple[str, str], list[str]] = {}  # (field, partition) → features
        self.block_groups: dict[str, list[str]] = {"shared": [], "scenario": [], "task": []}
        self.tasks: list[str] = []
        self.objectives: dict[str, list[str]] = {}  # objective name → term nodes
        self.edges: list[tuple[str, str, str, str]] = []  # (u, v, label, style: data | within | compose | term)
        self._features()
        self._blocks()
        self._tasks()
        self._objectives()

    # -- nodes
    def _type(self, data: dict) -> str | None:
        return str(data["type"]) if data.get("type") is not None else None

    def _features(self) -> None:
        for name in self.ir.features:
            data = self.g.nodes[name]
            params = data.get("params") or {}
            field, partition = params.get("field", "none"), params.get("partition", "shared")
            self.feature_groups.setdefault((field, partition), []).append(name)
            detail = data["kind"]
            if data["kind"] == "numeric" and params.get("buckets"):
                detail += f" · {params['buckets']} buckets"
            elif data["kind"] == "sequence":
                detail += f" · max_len {params.get('max_len')}"
            if params.get("hash"):
                detail += f" · hash {params['hash']}"
            typ = self._type(data)
            lines = [name, detail] + ([typ] if typ else [])
            if data["kind"] == "sequence" and params.get("vocab") is not None:
                lines.append(f"table of {_value(params['vocab'])}")
            if partition == "specific":
                lines.append(f"one table per scenario (×{len(self.ir.scenarios)})")
            count = _count_line(self.counts.get(name))
            if count:
                lines.append(count)
            self.node_lines[name] = lines
            self.node_style[name] = f"{partition}_feature" if partition in ("shared", "specific") else "shared_feature"
        order = {f: i for i, f in enumerate(FIELD_ORDER)}
        self.feature_groups = dict(sorted(self.feature_groups.items(),
                                          key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1] != "shared")))

    def _blocks(self) -> None:
        for name in self.ir.blocks:
            data = self.g.nodes[name]
            if data.get("replicate") == "task":
                axis = "task"
            elif _per_scenario(data):
                axis = "scenario"
            else:
                axis = "shared"
            self.block_groups[axis].append(name)
            self.node_style[name] = axis
            typ = self._type(data)
            lines = [name, _block_kind(data)] + ([f"→ {typ}"] if typ else [])
            count = _count_line(self.counts.get(name))
            if count:
                lines.append(count)
            self.node_lines[name] = lines
            params = data.get("params") or {}
            for u in data.get("inputs") or list(self.g.predecessors(name)):
                param = self.g.edges[u, name].get("param") if self.g.has_edge(u, name) else None
                label = param if param not in (None, "x", "inputs", "features") else ""
                if (u, name, label, "data") not in self.edges:
                    self.edges.append((u, name, label, "data"))
            if data.get("kind") == "head":
                self._head_edges(name, data, params)

    def _head_edges(self, name: str, data: dict, params: dict) -> None:
        task = params.get("task")
        targets = self.ir.base_tasks if data.get("replicate") == "task" and task is None else (
            [task.name] if task is not None and task.name in self.g else [])
        chosen = params.get("scenarios")
        label = _names([r.name for r in chosen]) if chosen else ""
        for t in targets:
            self.edges.append((name, t, label, "data"))

    def _tasks(self) -> None:
        for name in self.ir.tasks:
            data = self.g.nodes[name]
            params = data.get("params") or {}
            self.tasks.append(name)
            self.node_style[name] = "output"
            if data["kind"] == "product":
                parts = [r.name for r in params.get("tasks") or []]
                lines = [name, " × ".join(parts) if parts else "product"]
                for part in parts:
                    if part in self.g:
                        self.edges.append((part, name, "×", "compose"))
            else:
                lines = [name, f"{data['kind']} · label {params.get('label', '?')}"]
            within = params.get("within")
            if within is not None:
                lines.append(f"within {within.name}")
                if within.name in self.g:
                    self.edges.append((within.name, name, "within", "within"))
            if params.get("label") and data["kind"] == "product":
                lines.append(f"label {params['label']}")
            self.node_lines[name] = lines

    def _objectives(self) -> None:
        objectives = dict(self.ir.objectives)
        if not objectives:  # an IR built by hand: group the term nodes by their `objective` attribute
            for name in self.ir.nodes("objective"):
                objectives.setdefault(self.g.nodes[name].get("objective", "loss"), []).append(name)
        for objective, terms in objectives.items():
            self.objectives[objective] = [t for t in terms if t in self.g]
            for term in self.objectives[objective]:
                data = self.g.nodes[term]
                weight = data.get("weight", 1.0)
                options, reads = [], []
                for key, value in (data.get("params") or {}).items():
                    refs = value if isinstance(value, list) else [value]
                    if value is None:
                        continue
                    if all(isinstance(r, Ref) for r in refs):
                        reads += [r.name for r in refs]
                    else:
                        options.append(f"{key}={_value(value)}")
                lines = [f"{objective}: {weight:g} × {data['kind']}({_names(reads, 3)})"]
                if options:
                    lines.append(", ".join(options[:3]) + (", …" if len(options) > 3 else ""))
                self.node_lines[term] = lines
                self.node_style[term] = "objective"
                for u in self.g.predecessors(term):
                    self.edges.append((u, term, "", "term"))

    # -- cluster titles: a title and detail lines
    def titles(self) -> dict[str, list[str]]:
        scenarios = [s["name"] for s in self.ir.scenarios]
        tasks = self.ir.base_tasks
        out = {
            "shared": ["shared across scenarios"],
            "scenario": [f"per scenario ×{len(scenarios)}", _names(scenarios)] if scenarios else ["per scenario"],
            "task": [f"per task ×{len(tasks)}", _names(tasks)] if tasks else ["per task"],
        }
        if self.counts:
            for axis, lines in out.items():
                names = self.block_groups[axis]
                lines.append(f"{_count(sum(_total(self.counts.get(n)) for n in names))} params")
        return out

    def total(self) -> str:
        if not self.counts:
            return ""
        return f"{_count(sum(_total(entry) for entry in self.counts.values()))} parameters"


def _total(entry: dict | None) -> int:
    return sum(int(v or 0) for v in (entry or {}).values())


FIELD_TITLE = {"none": "no field"}


# ---------------------------------------------------------------------------------------------- DOT


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", " "))


def _dot_id(name: str) -> str:
    """A quoted DOT id: any node name (`h__concat`, `loss[0]`) is valid once quoted and escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: list[str], align: str = "") -> str:
    """An HTML-like label: the first line bold, the others smaller and grey."""
    title, *rest = lines
    br = f'<BR ALIGN="{align}"/>' if align else "<BR/>"
    body = f"<B>{_html(title)}</B>"
    for line in rest:
        body += f'{br}<FONT POINT-SIZE="9" COLOR="#444444">{_html(line)}</FONT>'
    return f"<{body}{br if align else ''}>"


def to_dot(ir: IR, counts: dict | None = None, direction: str = "LR") -> str:
    """The IR as a Graphviz digraph (clusters for features, shared / per-scenario / per-task blocks, tasks,
    objectives). `direction` is Graphviz's rankdir: `LR` (default) or `TB`."""
    pic = _Picture(ir, counts)
    out = [
        f"digraph {_dot_id(ir.name)} {{",
        f'  graph [rankdir={direction}, fontname="Helvetica", fontsize=12, labelloc=t, labeljust=l, '
        f'nodesep=0.15, ranksep=0.4, newrank=true, '
        f'label={_dot_label([f"spec {ir.name}", pic.total()] if pic.total() else [f"spec {ir.name}"], "LEFT")}];',
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", margin="0.12,0.05", '
        'penwidth=1.2];',
        '  edge [color="#6B7785", arrowsize=0.6, penwidth=1.0, fontname="Helvetica", fontsize=9, '
        'fontcolor="#555555"];',
    ]

    def node(name: str, indent: str, **extra) -> None:
        fill, line = STYLE[pic.node_style[name]]
        attrs = {"label": _dot_label(pic.node_lines[name]), "fillcolor": f'"{fill}"', "color": f'"{line}"', **extra}
        out.append(f"{indent}{_dot_id(name)} [{', '.join(f'{k}={v}' for k, v in attrs.items())}];")

    def cluster(cid: str, title: list[str], style: str, indent: str, dashed: bool = False, fill: str = ""):
        fill, line = fill or STYLE[style][0], STYLE[style][1]
        out.append(f"{indent}subgraph cluster_{cid} {{")
        out.append(f'{indent}  label={_dot_label(title, "LEFT")}; style="{"dashed," if dashed else ""}rounded,filled"; '
                   f'fillcolor="{fill}"; color="{line}"; fontsize=11;')

    if pic.feature_groups:
        cluster("features", ["features"], "shared", "  ", dashed=True, fill="#FFFFFF")
        for i, ((field, partition), names) in enumerate(pic.feature_groups.items()):
            title = FIELD_TITLE.get(field, field) + ("  ·  specific" if partition == "specific" else "")
            style = "specific_feature" if partition == "specific" else "shared_feature"
            fill, line = STYLE[style]
            out.append(f"    subgraph cluster_field_{i} {{")
            out.append(f'      label=<{_html(title)}>; style="rounded"; color="{line}"; fontsize=10;')
            for name in names:
                extra = {"shape": "box3d", "style": "filled"} if partition == "specific" else {}
                node(name, "      ", **extra)
            out.append("    }")
        out.append("  }")
    titles = pic.titles()
    for axis in ("shared", "scenario", "task"):
        names = pic.block_groups[axis]
        if not names:
            continue
        cluster(f"{axis}_blocks", titles[axis], axis, "  ")
        for name in names:
            if pic.g.nodes[name].get("kind") in STRUCTURAL:  # wiring, no parameters: lighter
                node(name, "    ", fillcolor='"#FFFFFF"', style='"rounded,filled,dashed"', fontsize=10)
            else:
                node(name, "    ", fillcolor='"#FFFFFF"')
        out.append("  }")
    if pic.tasks:
        cluster("tasks", ["tasks"], "task", "  ")
        for name in pic.tasks:
            node(name, "    ", shape="box", style='"rounded,filled,bold"')
        out.append("  }")
    for terms in pic.objectives.values():  # notes, not a cluster: each sits beside what it reads
        for term in terms:
            node(term, "  ", shape="note", style="filled")
    for u, v, label, kind in pic.edges:
        attrs = []
        if label:
            attrs.append(f"label=<{_html(label)}>")
        if kind == "term":
            attrs += ['style=dashed', f'color="{STYLE["objective"][1]}"', "arrowhead=none"]
        elif kind == "within":
            attrs += ["style=dotted", "constraint=false"]
        elif kind == "compose":
            attrs += [f'color="{STYLE["output"][1]}"']
        out.append(f"  {_dot_id(u)} -> {_dot_id(v)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for the characters Mermaid would read as syntax."""
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("\n", " "))


class _MermaidIds:
    """Mermaid ids are [A-Za-z0-9_]; names like `loss[0]` are mapped to unique safe ids."""

    def __init__(self):
        self.ids: dict[str, str] = {}
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        if name not in self.ids:
            base = "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
            ident, i = base, 1
            while ident in self.used:
                i += 1
                ident = f"{base}_{i}"
            self.ids[name] = ident
            self.used.add(ident)
        return self.ids[name]


def to_mermaid(ir: IR, counts: dict | None = None, direction: str = "LR") -> str:
    """The IR as a Mermaid flowchart, with the same groups as `to_dot`."""
    pic = _Picture(ir, counts)
    nid = _MermaidIds()
    title = f"spec {ir.name}" + (f" · {pic.total()}" if pic.total() else "")
    out = ["---", f"title: {title}", "---", f"flowchart {direction}"]

    def label(name: str) -> str:
        title, *rest = pic.node_lines[name]
        return '"' + "<br/>".join([f"<b>{_mermaid_text(title)}</b>", *(_mermaid_text(r) for r in rest)]) + '"'

    def node(name: str, indent: str) -> None:
        style = pic.node_style[name]
        text = label(name)
        if style.endswith("_feature"):
            shape = f"[({text})]"  # a cylinder: an embedding table
        elif style == "output":
            shape = f"([{text}])"
        elif style == "objective":
            shape = f">{text}]"
        else:
            shape = f"[{text}]"
        out.append(f"{indent}{nid(name)}{shape}")

    if pic.feature_groups:
        out.append('  subgraph features["features"]')
        for i, ((field, partition), names) in enumerate(pic.feature_groups.items()):
            title = FIELD_TITLE.get(field, field) + (" · specific" if partition == "specific" else "")
            out.append(f'    subgraph field_{i}["{_mermaid_text(title)}"]')
            for name in names:
                node(name, "      ")
            out.append("    end")
        out.append("  end")
    titles = pic.titles()
    for axis in ("shared", "scenario", "task"):
        names = pic.block_groups[axis]
        if names:
            out.append(f'  subgraph {axis}_blocks["{_mermaid_text(" · ".join(titles[axis]))}"]')
            for name in names:
                node(name, "    ")
            out.append("  end")
    if pic.tasks:
        out.append('  subgraph tasks["tasks"]')
        for name in pic.tasks:
            node(name, "    ")
        out.append("  end")
    for terms in pic.objectives.values():  # notes beside what they read, as in the DOT picture
        for term in terms:
            node(term, "  ")
    for u, v, text, kind in pic.edges:
        arrow = {"term": "-.-", "within": "-.->"}.get(kind, "-->")
        tag = f'|"{_mermaid_text(text)}"|' if text else ""
        out.append(f"  {nid(u)} {arrow}{tag} {nid(v)}")
    classes = {
        "shared_feature": [], "specific_feature": [], "shared": [], "scenario": [], "task": [], "output": [],
        "objective": [],
    }
    for name, style in pic.node_style.items():
        classes[style].append(nid(name))
    for style, (fill, line) in STYLE.items():
        dash = ",stroke-dasharray:4 3" if style == "specific_feature" else ""
        out.append(f"  classDef {style} fill:{fill},stroke:{line},stroke-width:1.5px{dash}")
    for style, ids in classes.items():
        if ids:
            out.append(f"  class {','.join(ids)} {style}")
    for axis in ("shared", "scenario", "task"):
        if pic.block_groups[axis]:
            fill, line = STYLE[axis]
            out.append(f"  style {axis}_blocks fill:{fill},stroke:{line}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- files


def render(ir: IR, path: str | Path, counts: dict | None = None, direction: str = "LR") -> Path:
    """Write the picture to `path`, chosen by its extension: `.dot`/`.gv` and `.mmd` (Mermaid) always;
    `.svg`, `.png`, `.pdf` through Graphviz `dot`, which must be installed."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise DrawError(f"cannot draw to `{path.name}`: unknown extension `.{ext}`; use one of "
                        + ", ".join(f".{f}" for f in FORMATS))
    if ext == "mmd":
        path.write_text(to_mermaid(ir, counts, direction), encoding="utf-8")
        return path
    dot_text = to_dot(ir, counts, direction)
    if ext in ("dot", "gv"):
        path.write_text(dot_text, encoding="utf-8")
        return path
    exe = shutil.which("dot")
    if exe is None:
        raise DrawError(f"drawing `.{ext}` needs Graphviz's `dot` program, which is not installed: install Graphviz "
                        "(e.g. `apt-get install graphviz` or `brew install graphviz`), or draw to `.dot` or `.mmd` "
                        "(Mermaid), which need nothing else")
    args = [exe, f"-T{ext}", "-o", str(path)]
    if ext == "png":
        args.insert(1, "-Gdpi=110")
    try:
        done = subprocess.run(args, input=dot_text.encode("utf-8"), capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise DrawError("Graphviz `dot` took more than 120 s") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise DrawError(f"Graphviz `dot` failed ({done.returncode}): {stderr}")
    return path
