"""The data a checked spec asks for, as the runtime's `DataConfig` and `FeatureConfig`s."""

from __future__ import annotations

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
        split_cfg = SeparateSplit(train=(p["train"],), test=(p["test"],), valid=(p["valid"],) if p["valid"] else ())
    synthetic, sources, fmt = None, (), "auto"
    if source is None and not isinstance(split_cfg, SeparateSplit):
        raise DataError("the spec names no data: set `data { source = … }` or `split = separate(…)`")
    if source is not None and source.kind == "synthetic":
        synthetic = dict(source.params)
    elif source is not None:
        sources, fmt = tuple(source.params["paths"]), source.params["format"]
    return DataConfig(
        split=split_cfg, labels=label_columns(ir), sources=sources, synthetic=synthetic,
        scenario=data["scenario"], scenarios=tuple(str(s["value"]) for s in ir.scenarios),
        user=data["user"], weight=data["weight"], format=fmt, base_dir=str(base_dir),
    )
