"""compiler/draw.py: DOT and Mermaid pictures of a checked IR, and rendering to files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import check_file, check_text
from compiler import draw
from compiler.draw import DrawError, render, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
HAS_DOT = shutil.which("dot") is not None

# Per-task towers and heads, a scenario-specific feature, an objective term on graph nodes, a composed task.
MULTITASK = """
spec multitask

data {
  source = synthetic(rows=10_000, scenarios=3, sequence=true)
  split  = hash(column="user_id")
}

scenarios {
  search = scenario(value="s0")
  feed   = scenario(value="s1", weight=2.0)
  mall   = scenario(value="s2")
}

features {
  user_id = categorical(dim=16, field=user)
  item_id = categorical(dim=16, field=item)
  shop    = categorical(dim=8, field=item, partition=specific)
  price   = numeric(buckets=10, dim=4, field=item)
  hist    = sequence(column="hist_items", vocab=item_id, field=behavior)
}

tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="purchase", within=ctr)
  ctcvr = product(ctr, cvr)
}

graph {
  shared = embed(all, partition=shared)
  h      = mlp(shared, units=[64, 32])
  s      = per scenario: mlp(concat(h, embed(shop)), units=[32])
  bias   = linear(scenario_embed(dim=4), units=1)
  towers = per task: mlp(s, units=[16])
  out    = per task: head(towers, offset=bias)
}

objective {
  loss = bce(ctr) + bce(cvr) + 0.5 * bce(ctcvr) + 1e-4 * l2(h, s)
}
"""


@pytest.fixture(scope="module")
def quickstart():
    return check_file(ROOT / "specs" / "quickstart.msd")


@pytest.fixture(scope="module")
def multitask():
    return check_text(MULTITASK, "multitask.msd")


def dot_clusters(text: str) -> dict[str, str]:
    """Node name → the innermost DOT cluster it is declared in ('' at top level)."""
    stack, where = [], {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"subgraph (cluster_\w+) \{$", line)
        if m:
            stack.append(m.group(1))
        elif line == "}":
            if stack:
                stack.pop()
        else:
            m = re.match(r'"((?:[^"\\]|\\.)*)" \[label=', line)
            if m:
                where[m.group(1)] = stack[-1] if stack else ""
    return where


def mermaid_groups(text: str) -> dict[str, str]:
    """Mermaid node id → the innermost subgraph it is declared in ('' at top level)."""
    stack, where = [], {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"subgraph (\w+)\[", line)
        if m:
            stack.append(m.group(1))
        elif line == "end":
            stack.pop()
        else:
            m = re.match(r"(n_\w+)(\[\(|\(\[|\[|>)\"", line)
            if m:
                where[m.group(1)] = stack[-1] if stack else ""
    return where


# ------------------------------------------------------------------------------------------------- DOT


def test_dot_quickstart_clusters_nodes_and_objective(quickstart):
    text = to_dot(quickstart)
    where = dot_clusters(text)
    assert text.startswith('digraph "quickstart" {') and "rankdir=LR" in text
    for feature in ("user_id", "item_id", "item_category", "hour", "device", "price"):
        assert where[feature].startswith("cluster_field_")
    assert where["x"] == where["h"] == "cluster_shared_blocks"
    assert where["tower"] == "cluster_scenario_blocks"
    assert where["out"] == "cluster_task_blocks"
    assert where["ctr"] == "cluster_tasks"
    assert where["loss[0]"] == ""  # a note beside what it reads
    assert '"ctr" -> "loss[0]" [style=dashed' in text
    assert '"out" -> "ctr";' in text and '"tower" -> "out";' in text
    assert "loss: 1 × bce(ctr)" in text
    assert "mlp" in text and "→ vec[64]" in text  # kind and output type
    assert "per scenario ×3" in text and "s0, s1, s2" in text
    assert "params" not in text  # no counts given


def test_dot_multitask(multitask):
    text = to_dot(multitask)
    where = dot_clusters(text)
    # the specific feature: its own cluster, drawn differently from shared ones
    assert "specific" in _cluster_label(text, where["shop"])
    assert "specific" not in _cluster_label(text, where["item_id"])
    assert re.search(r'"shop" \[[^\n]*shape=box3d', text)
    assert not re.search(r'"item_id" \[[^\n]*shape=box3d', text)
    assert "one table per scenario (×3)" in text
    # blocks by axis; nested calls become their own nodes; scenario-aware blocks count as per scenario
    assert where["h"] == where["bias"] == where["s__concat"] == where["s__concat__embed"] == "cluster_shared_blocks"
    assert where["s"] == where["bias__scenario_embed"] == "cluster_scenario_blocks"
    assert where["towers"] == where["out"] == "cluster_task_blocks"
    assert "per task ×2" in text and "search, feed, mall" in text
    # a per-task head predicts every base task; ctcvr is drawn from its components
    assert '"out" -> "ctr";' in text and '"out" -> "cvr";' in text
    assert '"ctr" -> "ctcvr" [label=<×>' in text and '"cvr" -> "ctcvr" [label=<×>' in text
    assert '"ctr" -> "cvr" [label=<within>, style=dotted' in text
    assert '"bias" -> "out" [label=<offset>];' in text
    # objective terms attached to the nodes and tasks they read
    assert '"h" -> "loss[3]" [style=dashed' in text and '"s" -> "loss[3]" [style=dashed' in text
    assert '"ctcvr" -> "loss[2]" [style=dashed' in text
    assert "loss: 0.0001 × l2(h, s)" in text and "loss: 0.5 × bce(ctcvr)" in text


def _cluster_label(text: str, cluster: str) -> str:
    return text.split(f"subgraph {cluster} {{", 1)[1].splitlines()[1]


def test_counts_are_drawn(multitask):
    counts = {"h": {"shared": 2080, "scenario": 0, "task": 0},
              "s": {"shared": 0, "scenario": 3 * 1312, "task": 0},
              "user_id": {"shared": 320_016},
              "out": {"shared": 10, "task": 66}}
    text = to_dot(multitask, counts)
    assert "2.1k params" in text
    assert "3.9k params, per scenario" in text
    assert "320k params" in text
    assert "76 params (shared 10 · per task 66)" in text
    assert "326.1k parameters" in text  # the whole model, in the title
    assert "2.1k params" in to_mermaid(multitask, counts)


def test_top_to_bottom(quickstart):
    assert "rankdir=TB" in to_dot(quickstart, direction="TB")
    assert "flowchart TB" in to_mermaid(quickstart, direction="TB")


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("spec", ["quickstart", "multitask"])
def test_dot_parses(spec, request):
    ir = request.getfixturevalue(spec)
    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(ir, {"h": {"shared": 5}}), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr  # no warnings either
    assert "<svg" in done.stdout and "loss[0]" in done.stdout


def test_dot_ids_are_escaped():
    assert draw._dot_id('a"b\\c') == '"a\\"b\\\\c"'
    assert draw._html('<x & "y">') == "&lt;x &amp; &quot;y&quot;&gt;"


# ------------------------------------------------------------------------------------------------- Mermaid


def test_mermaid_quickstart(quickstart):
    text = to_mermaid(quickstart)
    assert "flowchart LR" in text and "title: spec quickstart" in text
    where = mermaid_groups(text)
    assert where["n_x"] == where["n_h"] == "shared_blocks"
    assert where["n_tower"] == "scenario_blocks"
    assert where["n_out"] == "task_blocks"
    assert where["n_ctr"] == "tasks"
    assert where["n_user_id"].startswith("field_")
    assert "n_ctr -.- n_loss_0_" in text
    assert "n_loss_0_>\"<b>loss: 1 × bce(ctr)</b>\"]" in text


def test_mermaid_multitask(multitask):
    text = to_mermaid(multitask)
    where = mermaid_groups(text)
    assert where["n_s"] == where["n_bias__scenario_embed"] == "scenario_blocks"
    assert where["n_towers"] == where["n_out"] == "task_blocks"
    assert "n_h -.- n_loss_3_" in text and "n_s -.- n_loss_3_" in text
    assert 'n_ctr -->|"×"| n_ctcvr' in text and 'n_bias -->|"offset"| n_out' in text
    assert "class n_shop specific_feature" in text
    assert re.search(r'subgraph field_\d+\["item · specific"\]', text)


@pytest.mark.parametrize("spec", ["quickstart", "multitask"])
def test_mermaid_is_well_formed(spec, request):
    text = to_mermaid(request.getfixturevalue(spec))
    body = text.split("---\n", 2)[2]
    depth = 0
    for line in body.splitlines()[1:]:
        line = line.strip()
        depth += line.startswith("subgraph ") - (line == "end")
        assert depth >= 0
        ids = re.findall(r"\bn_[^\s\[\(>|,]*", line)
        assert all(re.fullmatch(r"n_\w+", i) for i in ids), line
        quoted = re.findall(r'"([^"]*)"', line)
        assert all("<" not in q.replace("<b>", "").replace("</b>", "").replace("<br/>", "") for q in quoted)
    assert depth == 0


def test_mermaid_ids_are_unique():
    ids = draw._MermaidIds()
    assert ids("loss[0]") == "n_loss_0_"
    assert ids("loss_0_") != ids("loss[0]")
    assert ids("loss[0]") == "n_loss_0_"  # stable
    assert draw._mermaid_text('a "b" <c> #1') == "a #quot;b#quot; #lt;c#gt; #35;1"


# ------------------------------------------------------------------------------------------------- files


def test_render_text_formats(quickstart, tmp_path):
    assert render(quickstart, tmp_path / "q.dot").read_text(encoding="utf-8") == to_dot(quickstart)
    assert render(quickstart, tmp_path / "q.mmd").read_text(encoding="utf-8") == to_mermaid(quickstart)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
def test_render_images(multitask, tmp_path):
    png = render(multitask, tmp_path / "m.png", {"h": {"shared": 2080}})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render(multitask, tmp_path / "m.svg")
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_render_without_graphviz(quickstart, tmp_path, monkeypatch):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    with pytest.raises(DrawError) as err:
        render(quickstart, tmp_path / "q.svg")
    message = str(err.value)
    assert "install Graphviz" in message and ".dot" in message and ".mmd" in message
    assert not (tmp_path / "q.svg").exists()
    render(quickstart, tmp_path / "q.dot")  # text formats still work


def test_render_unknown_extension(quickstart, tmp_path):
    with pytest.raises(DrawError, match="unknown extension"):
        render(quickstart, tmp_path / "q.jpeg")


def test_draw_does_not_import_torch():
    code = "import sys, compiler.draw; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_an_unchecked_ir_still_draws():
    """Drawing reads only what is there: an IR straight from `build` (no params, types or edges) draws too."""
    from compiler import extend
    from compiler.diagnostics import Reporter
    from compiler.ir import build

    ir = build(extend.load(ROOT / "specs" / "quickstart.msd"), Reporter())
    assert '"tower" [label=' in to_dot(ir)
    assert "n_tower[" in to_mermaid(ir)
