"""Training a checked spec: stages, optimizers, schedules, early stopping, checkpoints, resume, evaluation.

`train(ir, …)` opens the data (`runtime.data.Dataset`), lowers the spec once with the fitted vocabulary sizes (one
`train` program per stage objective, all on the same parameters), runs the stages in order (one stage from
`train { … }` unless the spec declares `stage` blocks), then predicts the validation and test splits into the
store and computes the metrics there.

A stage trains its epochs with its objective: `freeze` turns gradients off for the named nodes, each `group` has
its own optimizer (`runtime.optim`), the learning rate follows the stage's schedule step by step, and `clip` bounds
the gradient norm. With `early_stop` the validation metric is computed after every epoch (and logged as
`valid_<metric>`), the best epoch's weights are kept, and the stage ends with them, after `patience` epochs
without improvement or at its last epoch. The next stage starts from those weights.

Determinism: parameters are initialized from the spec's seed, each epoch's row order is fixed by (seed, epoch)
and dropout draws from torch's RNG, seeded once; so a seed gives the same result on one machine.

Checkpoints (`runtime.checkpoint`, one directory per spec hash under `runs_dir`, cleared when a new run starts)
are written every `checkpoint_every` steps and at the end of every epoch. Their manifest holds the position
(stage, epoch, batch, steps), the early-stopping state and the timings; their tensors the weights, every
optimizer's state and the RNG. A resumed run restores all of it and skips the batches the interrupted epoch had
trained, so it ends with exactly the weights, predictions and metrics of an uninterrupted run; the `training_log`
rows written after the checkpoint are deleted and written again, and the run's row ends with status `ok`. A run
that fails ends with status `failed` (a non-finite loss raises `TrainingError` naming the terms).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import torch
from tqdm import tqdm

from compiler import IR
from compiler.ir import dump
from compiler.lower import call, lower, maybe_compile
from runtime import checkpoint
from runtime.data import ROW, SCENARIO, USER, WEIGHT, Dataset, label_key
from runtime.encoders import Encoders
from runtime.optim import build_optimizers, scheduled_lr, set_lr
from runtime.spec_data import data_config, feature_configs
from runtime.store import Store, metric_macros


class TrainingError(Exception):
    """Training cannot go on (a NaN loss, a checkpoint that does not fit); the message says which term or file."""


@dataclass
class Options:
    store: Path = Path("msdsl.duckdb")
    resume: bool = False
    compile: bool | str | None = None  # None: the spec's `train { compile = … }`
    runs_dir: Path = Path("runs")
    progress: bool = True
    checkpoint_every: int = 500
    log_every: int = 10

    def __post_init__(self):
        self.store, self.runs_dir = Path(self.store), Path(self.runs_dir)
        for name in ("checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} counts steps: it must be at least 1, not {getattr(self, name)}")


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


def new_state(stage: int, stage_epochs: int, global_step: int) -> dict:
    """Where training stands (JSON, saved in every checkpoint): position, steps and early-stopping state."""
    return {"stage": stage, "epoch": 0, "batch": 0, "stage_step": 0, "global_step": global_step,
            "best": None, "bad_epochs": 0, "done": stage_epochs <= 0}


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


def _versions(ir_hash: str, device: torch.device) -> dict:
    try:
        msdsl = importlib.metadata.version("msdsl")
    except importlib.metadata.PackageNotFoundError:
        msdsl = "unknown"
    return {"msdsl": msdsl, "torch": torch.__version__, "duckdb": duckdb.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": str(device), "spec_ir_hash": ir_hash}


def _show(value) -> str:
    """An objective argument as written: a name, names joined by commas, or a literal."""
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return getattr(value, "name", None) or repr(value)


def _better(metric: str, value: float | None, best: float | None) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    key = {"logloss": lambda v: v, "pcoc": lambda v: abs(v - 1)}.get(metric, lambda v: -v)
    return key(value) < key(best)


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
        self.stages = stages(ir)
        self.log_rows: list[tuple] = []

    # -- the run ---------------------------------------------------------------------------------------------

    def run(self, store: Store) -> str:
        try:
            with checkpoint.lock(self.run_dir):
                return self.run_locked(store)
        except checkpoint.Busy:
            raise TrainingError(f"another process is training this spec with checkpoints in {self.run_dir}; wait "
                                "for it, or give this run its own --runs-dir") from None

    def run_locked(self, store: Store) -> str:
        self.started = time.time()
        ckpt = checkpoint.latest(self.run_dir) if self.options.resume else None
        if self.options.resume and ckpt is None:
            print(f"nothing to resume in {self.run_dir}; starting a new run")
        manifest = checkpoint.read_manifest(ckpt) if ckpt else None
        self.resumed = manifest is not None
        if not self.resumed:  # a new run starts from a clean run directory
            checkpoint.clear(self.run_dir)
        self.timings = dict(manifest["timings"]) if manifest else {
            "data_s": 0.0, "train_s": 0.0, "evaluate_s": 0.0, "total_s": 0.0, "rows": 0, "steps": 0}
        self.prior_total = self.timings["total_s"]
        torch.manual_seed(self.seed)
        encoders = Encoders.from_json(manifest["encoders"]) if manifest else None
        with Dataset(data_config(self.ir, self.spec_path.parent), feature_configs(self.ir), encoders=encoders) as data:
            self.timings["data_s"] += time.time() - self.started
            warnings = data.warnings + self.check_early_stop(data)
            for w in warnings:
                print(f"warning: {w}")
            run_id = self.reopen_run(store, data, ckpt, manifest) if manifest else self.start_run(store, data, warnings)
            try:
                self.train_stages(data, store, run_id, ckpt, manifest["state"] if manifest else None)
                start = time.time()
                self.evaluate(data, store, run_id)
                self.timings["evaluate_s"] += time.time() - start
            except BaseException as err:
                with contextlib.suppress(Exception):  # the original error matters more than the status
                    store.finish_run(run_id, status="interrupted" if isinstance(err, KeyboardInterrupt) else
                                     "failed", timings=self.elapsed())
                raise
        timings = self.elapsed()
        timings["rows_per_s"] = timings["rows"] / timings["train_s"] if timings["train_s"] else None
        store.finish_run(run_id, timings=timings)
        return run_id

    def elapsed(self) -> dict:
        """The timings so far, the time of interrupted sessions included."""
        self.timings["total_s"] = self.prior_total + time.time() - self.started
        return dict(self.timings)

    def start_run(self, store: Store, data: Dataset, warnings: list[str]) -> str:
        run_id = store.start_run(name=self.ir.name, spec=self.spec_text, data_fingerprint=data.fingerprint,
                                 seed=self.seed, versions=_versions(self.hash, self.device))
        store.append("oov", run_id, data.oov)
        store.append("warnings", run_id, [(w,) for w in warnings])
        return run_id

    def reopen_run(self, store: Store, data: Dataset, ckpt: Path, manifest: dict) -> str:
        """The checkpoint's run, marked running again, without the log rows written after the checkpoint."""
        run_id = manifest["run"]
        if manifest["fingerprint"] != data.fingerprint:
            raise TrainingError(f"the data changed since checkpoint {ckpt} was written (fingerprint "
                                f"{manifest['fingerprint']}, now {data.fingerprint}); run without --resume")
        with store.transaction() as con:
            if con.execute("SELECT count(*) FROM runs WHERE run = ?", [run_id]).fetchone()[0] == 0:
                raise TrainingError(f"checkpoint {ckpt} belongs to run {run_id}, which is not in the store "
                                    f"{store.path}; resume with the store the run started with (--store)")
            con.execute("UPDATE runs SET status = 'running', finished = NULL WHERE run = ?", [run_id])
            con.execute("DELETE FROM training_log WHERE run = ? AND step > ?",
                        [run_id, manifest["state"]["global_step"]])
        print(f"resuming run {run_id} from {ckpt}")
        return run_id

    def check_early_stop(self, data: Dataset) -> list[str]:
        """Refuse GAUC early stopping without a user column; return a warning when there is no validation split."""
        rules = [s.early_stop for s in self.stages if s.early_stop is not None]
        if any(r.params["metric"] == "gauc" for r in rules) and self.ir.settings["data"]["user"] is None:
            raise TrainingError("early_stop(metric=gauc) averages AUC over users, but the data names no user "
                                "column: add `data { user = \"…\" }`, or stop on auc or logloss")
        if rules and "valid" not in data.splits:
            return ["early_stop needs a validation split, and the data has none: every epoch is trained"]
        return []

    # -- stages and epochs -----------------------------------------------------------------------------------

    def train_stages(self, data: Dataset, store: Store, run_id: str, ckpt: Path | None, state: dict | None):
        vocab = {e.config.name: e.size for e in data.encoders if e.size is not None}
        self.low = lower(self.ir, vocab)
        setting = self.ir.settings["train"]["compile"] if self.options.compile is None else self.options.compile
        programs = [maybe_compile(self.low.program("train", objective=s.objective), self.device, setting)
                    for s in self.stages]  # every program before any optimizer: they may add parameters
        self.predict_gm = maybe_compile(self.low.predict, self.device, setting)
        self.low.params.to(self.device)
        state = state or new_state(0, self.stages[0].epochs, 0)
        for si, stage in enumerate(self.stages):
            if si < state["stage"]:
                continue
            if si > state["stage"]:
                state = new_state(si, stage.epochs, state["global_step"])
            for qual, (node, _) in self.low.params.roles.items():
                self.low.params.get_parameter(qual).requires_grad_(node not in stage.freeze)
            optimizers = build_optimizers(self.low.params, self.low.params.roles, stage.optimizer, self.ir.groups)
            if ckpt is not None:
                checkpoint.restore(ckpt, self.low.params, optimizers)
                ckpt = None
            while not state["done"]:
                self.train_epoch(data, store, run_id, stage, programs[si], optimizers, state)
                stop = self.validate(data, stage, state)
                state.update(epoch=state["epoch"] + 1, batch=0)
                if stop or state["epoch"] >= stage.epochs:
                    if state["best"] is not None:  # end the stage with its best epoch's weights
                        self.low.params.load_state_dict(checkpoint.load_weights(self.run_dir / "best"))
                    state["done"] = True
                    if stop:
                        print(f"early stop in stage {stage.name} after epoch {state['epoch']}")
                self.save(store, run_id, optimizers, data, state)

    def train_epoch(self, data: Dataset, store: Store, run_id: str, stage: Stage, program, optimizers,
                    state: dict) -> None:
        batch_size = self.ir.settings["train"]["batch"]
        steps_per_epoch = max(1, math.ceil(data.rows["train"] / batch_size))
        total_steps = steps_per_epoch * stage.epochs
        skip = state["batch"]
        self.low.params.train()
        desc = f"{stage.name} epoch {state['epoch'] + 1}/{stage.epochs}"
        started = window_start = time.perf_counter()
        window_rows = 0
        with tqdm(total=steps_per_epoch, initial=skip, desc=desc, unit="batch", leave=False, dynamic_ncols=True,
                  disable=not self.options.progress) as bar:
            for b, batch in enumerate(data.batches("train", batch_size, seed=self.seed, epoch=state["epoch"])):
                if b < skip:
                    continue
                inputs = {k: v.to(self.device, non_blocking=True)
                          for k, v in program_batch(batch, self.tasks, self.derived).items()}
                set_lr(optimizers, lambda base: scheduled_lr(stage.schedule, base, state["stage_step"], total_steps,
                                                             steps_per_epoch))
                out = self.step(program, optimizers, stage, inputs, state)
                rows = len(batch[SCENARIO])
                state["stage_step"] += 1
                state["global_step"] += 1
                state["batch"] = b + 1
                self.timings["rows"] += rows
                self.timings["steps"] += 1
                window_rows += rows
                bar.update(1)
                step = state["global_step"]
                if step % self.options.log_every == 0 or b + 1 == steps_per_epoch:  # every epoch ends logged
                    rate = window_rows / max(1e-9, time.perf_counter() - window_start)
                    terms = {"loss": out["loss"].item(), **{k: v.item() for k, v in out["terms"].items()}}
                    self.log_rows += [(stage.name, step, state["epoch"], k, v, rate) for k, v in terms.items()]
                    bar.set_postfix(loss=f"{terms['loss']:.4f}", rows_s=f"{rate:,.0f}")
                    window_rows, window_start = 0, time.perf_counter()
                if step % self.options.checkpoint_every == 0 and b + 1 < steps_per_epoch:  # the epoch's end saves
                    self.timings["train_s"] += time.perf_counter() - started
                    started = time.perf_counter()
                    self.save(store, run_id, optimizers, data, state)
        self.timings["train_s"] += time.perf_counter() - started

    def step(self, program, optimizers, stage: Stage, inputs: dict, state: dict) -> dict:
        """One optimization step on a batch; a non-finite loss raises `TrainingError` naming its terms."""
        out = call(program, inputs)
        if not torch.isfinite(out["loss"]):
            raise TrainingError(self.non_finite(out, stage, state))
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if stage.clip:
            torch.nn.utils.clip_grad_norm_([p for p in self.low.params.parameters() if p.requires_grad], stage.clip)
        for opt in optimizers:
            opt.step()
        return out

    def non_finite(self, out: dict, stage: Stage, state: dict) -> str:
        bad = []
        for name, value in out["terms"].items():
            if not torch.isfinite(value):
                d = self.ir.graph.nodes[name]
                args = ", ".join(_show(v) for v in d["params"].values())
                bad.append(f"`{name}` = {d['kind']}({args}) (line {d['span'].line}) is {value.item()}")
        return (f"the loss became {out['loss'].item()} at step {state['global_step'] + 1} (stage {stage.name}, "
                f"epoch {state['epoch'] + 1}): "
                + ("; ".join(bad) if bad else "every term is finite, their weighted sum is not")
                + ". Lower the learning rate, set `clip = 1.0` in `train`, or check the data.")

    # -- validation, checkpoints -----------------------------------------------------------------------------

    def predict(self, data: Dataset, split: str):
        """Yield (batch, probabilities) over a split in row order, in eval mode, without gradients."""
        self.low.params.eval()
        with torch.no_grad():
            for batch in data.batches(split, 8192, shuffle=False):
                inputs = {k: v.to(self.device) for k, v in program_batch(batch, self.tasks, self.derived).items()}
                yield batch, {k: v.float().cpu() for k, v in call(self.predict_gm, inputs)["prob"].items()}

    def validate(self, data: Dataset, stage: Stage, state: dict) -> bool:
        """Early stopping after an epoch: save the weights when the metric improved; True when it is time to stop."""
        rule = stage.early_stop
        if rule is None or "valid" not in data.splits:
            return False
        metric = rule.params["metric"]
        task = rule.params["task"].name if rule.params["task"] else self.tasks[0]
        labels, scores, users = [], [], []
        for batch, prob in self.predict(data, "valid"):
            keep = self.within_mask(batch, task)
            labels.append(program_batch(batch, self.tasks, self.derived)[task][keep])
            scores.append(prob[task][keep])
            if metric == "gauc":
                users.append(batch[USER][keep])
        value = metric_in_memory(metric, torch.cat(labels).numpy(), torch.cat(scores).numpy(),
                                 torch.cat(users).numpy() if users else None)
        self.log_rows.append((stage.name, state["global_step"], state["epoch"], f"valid_{metric}", value, None))
        if value is None:
            print(f"warning: validation {metric} of {task} is undefined (one class only): no improvement counted")
        if _better(metric, value, state["best"]):
            state.update(best=value, bad_epochs=0)
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

    def save(self, store: Store, run_id: str, optimizers: list, data: Dataset, state: dict) -> None:
        self.flush_log(store, run_id)  # first: rows newer than the checkpoint are deleted on resume
        checkpoint.save(self.run_dir, state["global_step"], self.low.params, optimizers, {
            "run": run_id, "spec": self.spec_text, "spec_hash": self.hash, "fingerprint": data.fingerprint,
            "encoders": data.encoders.to_json(), "state": state, "timings": self.elapsed(),
        })

    def flush_log(self, store: Store, run_id: str) -> None:
        store.append("training_log", run_id, self.log_rows)
        self.log_rows = []

    # -- evaluation ------------------------------------------------------------------------------------------

    def evaluate(self, data: Dataset, store: Store, run_id: str) -> None:
        """Predict the validation and test splits into the store (a `within` task only on its parent's positives),
        replacing any predictions of the run (a resumed run may have been killed while evaluating), then compute
        every metric there."""
        names = [s["name"] for s in self.ir.scenarios]
        if self.resumed:
            with store.transaction() as con:
                con.execute("DELETE FROM predictions WHERE run = ?", [run_id])
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
                arrays = {k: torch.cat(v).numpy() for k, v in cols.items() if v}
                store.add_predictions(run_id, split, task, scenarios=names, row=arrays["row"],
                                      scenario=arrays["scenario"], label=arrays["label"], score=arrays["score"],
                                      user=arrays.get("user"))
        for warning in store.compute_metrics(run_id):
            print(f"warning: {warning}")


def metric_in_memory(metric: str, label, score, user=None) -> float | None:
    """One metric over arrays, with the store's SQL definition (for early stopping on the validation split)."""
    con = duckdb.connect()
    try:
        con.execute(metric_macros())
        columns = {"label": label.astype("float64"), "score": score.astype("float64")}
        if user is not None:
            columns["user"] = user.astype("int64")
        con.register("v", columns)
        args = 'label, score, "user"' if metric == "gauc" else "label, score"
        return con.execute(f"SELECT {metric}({args}) FROM v").fetchone()[0]
    finally:
        con.close()


def train(ir: IR, spec_path: Path, spec_text: str, options: Options | None = None) -> str:
    """Train and evaluate a checked spec, storing everything in `options.store`; returns the run id."""
    options = options or Options()
    return Trainer(ir, Path(spec_path), spec_text, options).run(Store(options.store))
