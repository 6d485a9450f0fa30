"""The data a checked spec asks for, as the runtime's `DataConfig` and `FeatureConfig`s."""

from __future__ import annotations

import os
from pathlib import Path

from compiler import IR
from runtime.data import DataConfig, HashSplit, SeparateSplit, TimeSplit
from runtime.encoders import DataError, FeatureConfig


def feature_configs(ir: IR) -> list[FeatureConfig]:
    out = []
    for name in ir.features:
        d = ir.graph.nodes[name]
        p = d["params"]
        kind = d["kind"]
        extra = {}
        if kind == "categorical":
            extra = dict(min_count=p["min_count"], hash=p["hash"])
        elif kind == "numeric":
            extra = dict(normalize=p["normalize"], buckets=p["buckets"])
        else:
            extra = dict(max_len=p["max_len"], vocab=p["vocab"].name if p["vocab"] else None, sep=p["sep"])
        out.append(FeatureConfig(name, kind, column=p["column"], **extra))
    return out


def label_columns(ir: IR) -> dict[str, str]:
    """Task → label column, for tasks whose label is a column (product tasks without `label=` are derived)."""
    out = {}
    for task in ir.tasks:
        label = ir.graph.nodes[task]["params"].get("label")
        if label is not None:
            out[task] = label
    return out


def _paths(bound, paths, base_dir: Path) -> tuple[str, ...]:
    """`paths` as written in `bound`'s statement, relative to the spec file that wrote it: a spec that extends one in
    another folder inherits its data paths unchanged (`base_dir`, the run spec's folder, covers the rest)."""
    file = getattr(getattr(getattr(bound, "span", None), "source", None), "path", None)
    where = Path(file).parent if file else base_dir
    if where.resolve() == Path(base_dir).resolve():
        return tuple(paths)
    return tuple(p if os.path.isabs(p) else os.path.join(where, p) for p in paths)


def data_config(ir: IR, base_dir: Path) -> DataConfig:
    data = ir.settings["data"]
    source, split = data["source"], data["split"]
    if split is None:
        split_cfg = HashSplit(column=data["user"] or data["scenario"], valid=0.1, test=0.1)
    elif split.kind == "hash":
        split_cfg = HashSplit(**split.params)
    elif split.kind == "time":
        split_cfg = TimeSplit(**split.params)
    else:
        p = split.params
        split_cfg = SeparateSplit(train=_paths(split, (p["train"],), base_dir),
                                  test=_paths(split, (p["test"],), base_dir),
                                  valid=_paths(split, (p["valid"],), base_dir) if p["valid"] else ())
    synthetic, sources, fmt = None, (), "auto"
    if source is None and not isinstance(split_cfg, SeparateSplit):
        raise DataError("the spec names no data: set `data { source = … }` or `split = separate(…)`")
    if source is not None and source.kind == "synthetic":
        synthetic = dict(source.params)
    elif source is not None:
        sources, fmt = _paths(source, source.params["paths"], base_dir), source.params["format"]
    return DataConfig(
        split=split_cfg, labels=label_columns(ir), sources=sources, synthetic=synthetic,
        scenario=data["scenario"], scenarios=tuple(str(s["value"]) for s in ir.scenarios),
        scenario_names=tuple(s["name"] for s in ir.scenarios),
        user=data["user"], weight=data["weight"], format=fmt, base_dir=str(base_dir),
    )
