"""`msdsl plot RUN… -o FILE.png`: metrics of runs side by side, and their training curves, from the store.

The figure has one panel per task on top: a group of bars per scenario (the all-scenarios slice `*` last, labelled
"all"), one bar per run in each group, for one metric of one split (default: test AUC). Below, one panel with the
training curve of every run: the `loss` term of `training_log` against the global step (stages follow each other
on the same axis). A slice whose metric is NULL (e.g. AUC of a scenario without positives) is shown as "n/a".

Drawn with matplotlib's Agg canvas (no display needed, pyplot's global state untouched); the file type follows the
output's extension (.png, .svg, .pdf, …).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from runtime.store import Store

# Metrics whose useful range starts at chance level 0.5 rather than at 0.
_RANKING = {"auc", "gauc"}
_REFERENCE = {"pcoc": 1.0, "auc": 0.5, "gauc": 0.5}


def _read(store: Store, runs: Sequence[str], metric: str, split: str):
    if not Path(store.path).exists():
        raise ValueError(f"no store at {store.path} (run `msdsl run SPEC` first, or pass --store)")
    marks = ", ".join("?" for _ in runs)
    with store.connect(read_only=True) as con:
        names = dict(con.execute(f"SELECT run, name FROM runs WHERE run IN ({marks})", list(runs)).fetchall())
        unknown = [r for r in runs if r not in names]
        if unknown:
            known = [r for (r,) in con.execute("SELECT run FROM runs ORDER BY started DESC LIMIT 5").fetchall()]
            hint = f"; latest runs: {', '.join(known)} (see `msdsl runs`)" if known else "; the store has no runs"
            raise ValueError(f"unknown run id{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} "
                             f"in store {store.path}{hint}")
        rows = con.execute(
            f"SELECT run, scenario, task, value FROM metrics WHERE run IN ({marks}) AND split = ? AND metric = ?",
            [*runs, split, metric]).fetchall()
        if not rows:
            have = con.execute(f"SELECT DISTINCT split, metric FROM metrics WHERE run IN ({marks}) ORDER BY ALL",
                               list(runs)).fetchall()
            splits = sorted({s for s, _ in have})
            metrics = sorted({m for _, m in have})
            raise ValueError(f"no `{metric}` metric on the {split} split for run(s) {', '.join(runs)}"
                             + (f" (splits: {', '.join(splits)}; metrics: {', '.join(metrics)})" if have
                                else " (the runs have no metrics: did they finish?)"))
        curves = con.execute(
            f"SELECT run, step, value, stage FROM training_log WHERE run IN ({marks}) AND term = 'loss' "
            "ORDER BY run, step",
            list(runs)).fetchall()
    return names, rows, curves


def _scenario_order(scenarios: set[str]) -> list[str]:
    named = sorted((s for s in scenarios if s != "*"), key=lambda s: (len(s), s))
    return named + (["*"] if "*" in scenarios else [])


def plot(store: Store, runs: Sequence[str], output: str | Path, metric: str = "auc", split: str = "test") -> Path:
    """Draw `metric` on `split` per scenario and task for `runs`, plus their training curves; write `output`.

    Raises ValueError for an unknown run id (naming it), an absent store or a metric the runs do not have.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    runs = list(dict.fromkeys(runs))  # a run named twice is drawn once
    if not runs:
        raise ValueError("name at least one run to plot (see `msdsl runs`)")
    names, rows, curves = _read(store, runs, metric, split)

    values: dict[tuple[str, str, str], float | None] = {(r, s, t): v for r, s, t, v in rows}
    tasks = sorted({t for _, _, t, _ in rows})
    scenarios = _scenario_order({s for _, s, _, _ in rows})
    labels = {r: f"{r} ({names[r]})" for r in runs}
    colors = [f"C{i % 10}" for i in range(len(runs))]

    ncols = len(tasks)
    width = max(7.0, min(22.0, 1.6 + ncols * (1.0 + len(scenarios) * (0.35 + 0.28 * len(runs)))))
    fig = Figure(figsize=(width, 8.2), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, ncols, height_ratios=[1.25, 1])

    present = [v for v in values.values() if v is not None and math.isfinite(v)]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    if metric in _RANKING:
        bottom = min(0.5, math.floor((lo - 0.02) * 20) / 20)
        top = hi + max(0.03, (hi - bottom) * 0.12)  # headroom above 1.0 for the value labels
    else:
        bottom = min(0.0, lo * 1.1)
        top = hi + max(1e-3, (hi - bottom) * 0.15)
    bar_w = 0.8 / len(runs)
    show_values = len(scenarios) * len(runs) <= 24

    for ti, task in enumerate(tasks):
        ax = fig.add_subplot(grid[0, ti], sharey=fig.axes[0] if ti else None)
        for ri, run in enumerate(runs):
            for si, scen in enumerate(scenarios):
                x = si - 0.4 + bar_w * (ri + 0.5)
                if (run, scen, task) not in values:  # the run has no such task or scenario: an empty slot
                    continue
                v = values[(run, scen, task)]
                if v is None or not math.isfinite(v):  # e.g. AUC of a slice with one class only
                    ax.text(x, bottom + (top - bottom) * 0.02, "n/a", ha="center", va="bottom", fontsize=7,
                            color=colors[ri], rotation=90)
                    continue
                ax.bar(x, v - bottom, bar_w * 0.92, bottom=bottom, color=colors[ri],
                       hatch="//" if scen == "*" else None, edgecolor="white" if scen == "*" else None)
                if show_values:
                    ax.text(x, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7, rotation=90 if len(runs) > 2
                            else 0)
        absent = [r for r in runs if not any((r, sc, task) in values for sc in scenarios)]
        ax.set_xticks(range(len(scenarios)), ["all" if s == "*" else s for s in scenarios])
        if "*" in scenarios and len(scenarios) > 1:
            ax.axvline(len(scenarios) - 1.5, color="0.75", lw=0.8, ls=":")
        ref = _REFERENCE.get(metric)
        if ref is not None and bottom < ref < top:
            ax.axhline(ref, color="0.4", lw=0.8, ls="--")
        ax.set_ylim(bottom, top)
        if metric in _RANKING:
            ax.set_yticks([t for t in ax.get_yticks() if bottom <= t <= 1.0 + 1e-9])
        ax.set_title(f"task {task}: {split} {metric} by scenario")
        ax.set_xlabel("scenario" + (f"   (no task {task} in run {', '.join(absent)})" if absent else ""))
        if ti == 0:
            ax.set_ylabel(metric)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)

    fig.legend([Patch(color=colors[i]) for i in range(len(runs))], [labels[r] for r in runs],
               loc="outside upper center", ncols=min(len(runs), 4), fontsize=9, frameon=False)

    ax = fig.add_subplot(grid[1, :])
    by_run: dict[str, tuple[list[int], list[float]]] = {}
    last_stage: dict[str, str] = {}
    stage_starts: dict[int, str] = {}  # step → stage, where a run's stage changes (a multi-stage spec)
    for run, step, value, stage in curves:
        xs, ys = by_run.setdefault(run, ([], []))
        if xs and stage != last_stage[run]:
            stage_starts.setdefault(step, stage)
        last_stage[run] = stage
        xs.append(step)
        ys.append(value)
    for step, stage in stage_starts.items():
        ax.axvline(step, color="0.6", lw=0.8, ls=":")
        ax.text(step, 0.02, f" {stage}", transform=ax.get_xaxis_transform(), fontsize=8, color="0.35")
    for ri, run in enumerate(runs):
        if run in by_run:
            xs, ys = by_run[run]
            ax.plot(xs, ys, color=colors[ri], lw=1.4, marker="." if len(xs) < 30 else None, label=labels[run])
    missing = [r for r in runs if r not in by_run]
    if missing:
        ax.text(0.99, 0.97, "no training log: " + ", ".join(missing), transform=ax.transAxes, ha="right",
                va="top", fontsize=8, color="0.35")
    ax.set_title("training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    if by_run:
        ax.legend(fontsize=8, loc="upper right" if not missing else "center right")

    output = Path(output)
    fig.savefig(output, dpi=110)
    return output
