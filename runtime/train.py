"""Training a checked spec: stages, optimizers, schedules, early stopping, checkpoints, resume, evaluation.

`train(spec)` opens the data (`runtime.data.Dataset`), lowers the spec with the fitted vocabulary sizes, runs each
stage (one stage from `train { … }` unless the spec declares `stage` blocks), then predicts the validation and
test splits into the store and computes the metrics there.

Determinism: parameters are initialized from the spec's seed, every epoch's row order is a permutation fixed by
(seed, epoch), and dropout draws from torch's RNG seeded once; so a seed gives the same result on CPU.

Checkpoints (`runtime.checkpoint`) are written every `checkpoint_every` steps and at the end of every epoch. A
resumed run restores weights, optimizer state, the RNG and its position (stage, epoch, batch), skips the
batches already trained in the interrupted epoch, and so ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from compiler import IR
from compiler.ir import dump
from compiler.lower import call, lower, maybe_compile
from runtime import checkpoint
from runtime.data import ROW, SCENARIO, USER, WEIGHT, Dataset, label_key
from runtime.encoders import Encoders
from runtime.optim import build_optimizers, schedule_factor, set_lr
from runtime.spec_data import data_config, feature_configs
from runtime.store import Store, metric_macros


class TrainingError(Exception):
    """Training cannot go on (a NaN loss, nothing to resume); the message says which term or file."""


@dataclass
class Options:
    store: Path = Path("msdsl.duckdb")
    resume: bool = False
    compile: bool | str | None = None  # None: the spec's `train { compile = … }`
    runs_dir: Path = Path("runs")
    progress: bool = True
    checkpoint_every: int = 500
    log_every: int = 10


@dataclass
class Stage:
    name: str
    epochs: int
    objective: str
    optimizer: object
    schedule: object
    early_stop: object
    clip: float
    freeze: list = field(default_factory=list)


def stages(ir: IR) -> list[Stage]:
    t = ir.settings["train"]
    default_obj = t["objective"].name if t["objective"] else "loss"
    if not ir.stages:
        return [Stage("train", t["epochs"], default_obj, t["optimizer"], t["schedule"], t["early_stop"], t["clip"])]
    out = []
    for s in ir.stages:
        pick = lambda key: s[key] if s[key] is not None else t[key]  # noqa: E731
        out.append(Stage(s["name"], pick("epochs"), s["objective"].name if s["objective"] else default_obj,
                         pick("optimizer"), pick("schedule"), pick("early_stop"), pick("clip"),
                         [r.name for r in s["freeze"] or ()]))
    return out


def spec_hash(ir: IR) -> str:
    return hashlib.sha256(dump(ir).encode()).hexdigest()


def program_batch(batch: dict, tasks: list[str], derived: dict) -> dict:
    """The batch keyed as the lowered programs expect: features, `scenario`, labels by task, `weight`."""
    out = {k: v for k, v in batch.items() if not k.startswith((":", "label:"))}
    out["scenario"] = batch[SCENARIO]
    for task in tasks:
        key = label_key(task)
        if key in batch:
            out[task] = batch[key]
    for task, parts in derived.items():  # product tasks without a label column
        out[task] = math.prod(out[p] for p in parts)
    if WEIGHT in batch:
        out["weight"] = batch[WEIGHT]
    return out


def _device(ir: IR) -> torch.device:
    setting = ir.settings["train"]["device"]
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise TrainingError("`train { device = cuda }` but torch sees no CUDA device; use `auto` or `cpu`")
    return torch.device(setting)


class Trainer:
    def __init__(self, ir: IR, spec_path: Path, spec_text: str, options: Options):
        self.ir, self.options = ir, options
        self.spec_path, self.spec_text = spec_path, spec_text
        self.hash = spec_hash(ir)
        self.seed = ir.settings["train"]["seed"]
        self.run_dir = options.runs_dir / f"{ir.name}-{self.hash[:12]}"
        self.device = _device(ir)
        self.tasks = list(ir.tasks)
        self.derived = {t: [r.name for r in ir.graph.nodes[t]["params"]["tasks"]] for t in ir.tasks
                        if ir.graph.nodes[t]["kind"] == "product" and ir.graph.nodes[t]["params"]["label"] is None}

    # -- set-up ----------------------------------------------------------------------------------------------

    def open_data(self, encoders: Encoders | None) -> Dataset:
        return Dataset(data_config(self.ir, self.spec_path.parent), feature_configs(self.ir), encoders=encoders)

    def build(self, data: Dataset, objective: str):
        vocab = {e.config.name: e.size for e in data.encoders if e.size is not None}
        low = lower(self.ir, vocab, objective=objective)
        low.params.to(self.device)
        setting = self.ir.settings["train"]["compile"] if self.options.compile is None else self.options.compile
        return low, maybe_compile(low.train, self.device, setting), maybe_compile(low.predict, self.device, setting)

    # -- the loop --------------------------------------------------------------------------------------------

    def run(self, store: Store) -> str:
        ckpt = checkpoint.latest(self.run_dir) if self.options.resume else None
        if self.options.resume and ckpt is None:
            print(f"nothing to resume in {self.run_dir}; starting a new run")
        manifest = checkpoint.read_manifest(ckpt) if ckpt else None
        encoders = Encoders.from_json(manifest["encoders"]) if manifest else None
        torch.manual_seed(self.seed)
        started = time.time()
        with self.open_data(encoders) as data:
            for w in data.warnings:
                print(f"warning: {w}")
            if manifest:
                run_id = manifest["run"]
                with store.transaction() as con:  # log rows written after the checkpoint are redone
                    con.execute("DELETE FROM training_log WHERE run = ? AND step > ?", [run_id, manifest["global_step"]])
            else:
                run_id = store.start_run(
                    name=self.ir.name, spec=self.spec_text, data_fingerprint=data.fingerprint, seed=self.seed,
                    versions={"torch": torch.__version__, "python": platform.python_version(),
                              "spec_ir_hash": self.hash},
                )
                store.append("oov", run_id, data.oov)
                store.append("warnings", run_id, [(w,) for w in data.warnings])
            self.log_rows: list[tuple] = []
            timings = self.train_stages(data, store, run_id, ckpt, manifest)
            eval_start = time.time()
            self.evaluate(data, store, run_id)
            timings["evaluate_s"] = time.time() - eval_start
        timings["total_s"] = time.time() - started
        store.finish_run(run_id, timings=timings)
        return run_id

    def train_stages(self, data: Dataset, store: Store, run_id: str, ckpt, manifest) -> dict:
        position = manifest["position"] if manifest else {"stage": 0, "epoch": 0, "batch": 0}
        global_step = manifest["global_step"] if manifest else 0
        timings: dict = {"train_s": 0.0, "rows": 0}
        all_stages = stages(self.ir)
        self.low = None
        for si, stage in enumerate(all_stages):
            if si < position["stage"]:
                continue
            previous = self.low
            self.low, self.train_gm, self.predict_gm = self.build(data, stage.objective)
            if previous is not None:  # a later stage continues from the earlier stage's weights
                self.low.params.load_state_dict(previous.params.state_dict(), strict=False)
            for qual, (node, _) in self.low.params.roles.items():
                self.low.params.get_parameter(qual).requires_grad_(node not in stage.freeze)
            optimizers = build_optimizers(self.low.params, self.low.params.roles, stage.optimizer, self.ir.groups)
            base_lrs = [[g["lr"] for g in o.param_groups] for o in optimizers]
            state = {"best": None, "bad_epochs": 0, "stage_step": 0}
            if manifest and si == position["stage"]:
                checkpoint.restore(ckpt, self.low.params, optimizers)
                state = manifest["stage_state"]
            steps_per_epoch = max(1, math.ceil(data.rows["train"] / self.ir.settings["train"]["batch"]))
            for epoch in range(position["epoch"] if si == position["stage"] else 0, stage.epochs):
                skip = position["batch"] if (manifest and si == position["stage"] and epoch == position["epoch"]) else 0
                global_step = self.train_epoch(data, store, run_id, stage, si, epoch, skip, optimizers, base_lrs,
                                               state, steps_per_epoch, global_step, timings)
                stop = self.validate(data, stage, state)
                self.save(run_id, global_step, optimizers, data, {"stage": si, "epoch": epoch + 1, "batch": 0},
                          state)
                self.flush_log(store, run_id)
                if stop:
                    print(f"early stop in stage {stage.name} after epoch {epoch + 1}")
                    break
            if state.get("best_weights"):
                self.low.params.load_state_dict(checkpoint.load_weights(self.run_dir / "best"), strict=False)
            position = {"stage": si + 1, "epoch": 0, "batch": 0}
            manifest = None
        return timings

    def train_epoch(self, data, store, run_id, stage, si, epoch, skip, optimizers, base_lrs, state,
                    steps_per_epoch, global_step, timings) -> int:
        from tqdm import tqdm

        t = self.ir.settings["train"]
        total_steps = steps_per_epoch * stage.epochs
        self.low.train.train()
        bar = tqdm(total=steps_per_epoch, initial=skip, disable=not self.options.progress, unit="batch",
                   desc=f"{stage.name} epoch {epoch + 1}/{stage.epochs}", leave=False, dynamic_ncols=True)
        window_rows, window_start = 0, time.perf_counter()
        for b, batch in enumerate(data.batches("train", t["batch"], seed=self.seed, epoch=epoch)):
            if b < skip:
                continue
            step_start = time.perf_counter()
            inputs = {k: v.to(self.device, non_blocking=True) for k, v in program_batch(batch, self.tasks,
                                                                                        self.derived).items()}
            set_lr(optimizers, base_lrs, schedule_factor(stage.schedule, state["stage_step"], total_steps,
                                                          steps_per_epoch, base_lrs[0][0] if base_lrs else 0.0))
            out = call(self.train_gm, inputs)
            loss = out["loss"]
            if not torch.isfinite(loss):
                bad = [f"{name} ({self.ir.graph.nodes[name]['kind']})" for name, v in out["terms"].items()
                       if not torch.isfinite(v)]
                raise TrainingError(f"the loss became {loss.item()} at step {global_step + 1} of stage "
                                    f"{stage.name}; non-finite term: {', '.join(bad) or 'the weighted sum'}. "
                                    "Lower the learning rate, add `clip = 1.0` to `train`, or check the data.")
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            if stage.clip:
                torch.nn.utils.clip_grad_norm_([p for p in self.low.params.parameters() if p.requires_grad],
                                               stage.clip)
            for opt in optimizers:
                opt.step()
            global_step += 1
            state["stage_step"] += 1
            rows = len(batch[SCENARIO])
            timings["rows"] += rows
            timings["train_s"] += time.perf_counter() - step_start
            window_rows += rows
            if global_step % self.options.log_every == 0:
                rate = window_rows / max(1e-9, time.perf_counter() - window_start)
                terms = {"loss": loss.item(), **{k: v.item() for k, v in out["terms"].items()}}
                self.log_rows += [(stage.name, global_step, epoch, k, v, rate) for k, v in terms.items()]
                bar.set_postfix(loss=f"{terms['loss']:.4f}", rows_s=f"{rate:,.0f}")
                window_rows, window_start = 0, time.perf_counter()
            bar.update(1)
            if global_step % self.options.checkpoint_every == 0:
                self.save(run_id, global_step, optimizers, data, {"stage": si, "epoch": epoch, "batch": b + 1},
                          state)
                self.flush_log(store, run_id)
        bar.close()
        return global_step

    # -- validation, checkpoints ------------------------------------------------------------------------------

    def predict(self, data: Dataset, split: str):
        """Yield (batch, probabilities) over a split in row order, in eval mode, without gradients."""
        self.low.predict.eval()
        with torch.no_grad():
            for batch in data.batches(split, 8192, shuffle=False):
                inputs = {k: v.to(self.device) for k, v in program_batch(batch, self.tasks, self.derived).items()}
                yield batch, {k: v.float().cpu() for k, v in call(self.predict_gm, inputs)["prob"].items()}

    def validate(self, data: Dataset, stage: Stage, state: dict) -> bool:
        """Early stopping: True when the validation metric has not improved for `patience` epochs."""
        rule = stage.early_stop
        if rule is None or "valid" not in data.splits:
            return False
        task = rule.params["task"].name if rule.params["task"] else self.tasks[0]
        labels, scores = [], []
        for batch, prob in self.predict(data, "valid"):
            lab = program_batch(batch, self.tasks, self.derived)[task]
            keep = self.within_mask(batch, task)
            labels.append(lab[keep])
            scores.append(prob[task][keep])
        value = metric_in_memory(rule.params["metric"], torch.cat(labels).numpy(), torch.cat(scores).numpy())
        better = value is not None and (state["best"] is None or (
            value < state["best"] if rule.params["metric"] == "logloss" else value > state["best"]))
        if better:
            state.update(best=value, bad_epochs=0, best_weights=True)
            checkpoint.save_weights(self.run_dir / "best", self.low.params)
        else:
            state["bad_epochs"] += 1
        return state["bad_epochs"] >= rule.params["patience"]

    def within_mask(self, batch: dict, task: str) -> torch.Tensor:
        """Rows a task is evaluated on: every row, or the positives of its `within` task."""
        parent = self.ir.graph.nodes[task]["params"].get("within")
        if parent is None:
            return torch.ones(len(batch[SCENARIO]), dtype=torch.bool)
        return program_batch(batch, self.tasks, self.derived)[parent.name] > 0.5

    def save(self, run_id, global_step, optimizers, data, position, state) -> None:
        checkpoint.save(self.run_dir, global_step, self.low.params, optimizers, {
            "run": run_id, "spec": self.spec_text, "spec_hash": self.hash, "fingerprint": data.fingerprint,
            "encoders": data.encoders.to_json(), "position": position, "global_step": global_step,
            "stage_state": state,
        })

    # -- evaluation --------------------------------------------------------------------------------------------

    def flush_log(self, store: Store, run_id: str) -> None:
        store.append("training_log", run_id, self.log_rows)
        self.log_rows = []

    def evaluate(self, data: Dataset, store: Store, run_id: str) -> None:
        """Predict the validation and test splits into the store (a `within` task only on its parent's positives),
        then compute every metric there."""
        names = [s["name"] for s in self.ir.scenarios]
        for split in ("valid", "test"):
            if split not in data.splits:
                continue
            parts: dict[str, dict[str, list]] = {t: {"row": [], "scenario": [], "label": [], "score": [], "user": []}
                                                 for t in self.tasks}
            for batch, prob in self.predict(data, split):
                labels = program_batch(batch, self.tasks, self.derived)
                for task in self.tasks:
                    keep, cols = self.within_mask(batch, task), parts[task]
                    cols["row"].append(batch[ROW][keep])
                    cols["scenario"].append(batch[SCENARIO][keep])
                    cols["label"].append(labels[task][keep])
                    cols["score"].append(prob[task][keep])
                    if USER in batch:
                        cols["user"].append(batch[USER][keep])
            for task, cols in parts.items():
                store.add_predictions(
                    run_id, split, task, scenarios=names, row=torch.cat(cols["row"]).numpy(),
                    scenario=torch.cat(cols["scenario"]).numpy(), label=torch.cat(cols["label"]).numpy(),
                    score=torch.cat(cols["score"]).numpy(), user=torch.cat(cols["user"]).numpy() if cols["user"] else None,
                )
        for warning in store.compute_metrics(run_id):
            print(f"warning: {warning}")


def metric_in_memory(metric: str, label, score) -> float | None:
    """One metric over arrays, with the store's SQL definition (for early stopping on the validation split)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(metric_macros())
        con.register("v", {"label": label.astype("float64"), "score": score.astype("float64")})
        return con.execute(f"SELECT {metric}(label, score) FROM v").fetchone()[0]
    finally:
        con.close()


def train(ir: IR, spec_path: Path, spec_text: str, options: Options | None = None) -> str:
    """Train and evaluate a checked spec, storing everything in `options.store`; returns the run id."""
    options = options or Options()
    return Trainer(ir, Path(spec_path), spec_text, options).run(Store(options.store))
