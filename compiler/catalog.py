"""Everything a spec can call outside `graph`: sources, splits, scenarios, features, tasks, objectives, optimizers.

Each constructor's schema is the language's reference for it; its docstring says what it means. The runtime
interprets the bound values; the compiler only checks them.
"""

from __future__ import annotations

from compiler.types import FIELDS
from compiler.schema import BOOL, FLOAT, INT, REF, STR, Param, Type, call_of, category, enum, list_of, one_of

SOURCES = category("data source")
SPLITS = category("split")
SCENARIOS = category("scenario declaration")
FEATURES = category("feature type")
TASKS = category("task type")
OBJECTIVES = category("objective")
OPTIMIZERS = category("optimizer")
SCHEDULES = category("schedule")
STOPPING = category("stopping rule")

PARTITION = Param("partition", enum("shared", "specific"), "shared",
                  "`specific`: one embedding table per scenario (OptMSM Eq. 4)")
FIELD = Param("field", enum(*FIELDS[:-1], "none"), "none", "MARIA's field group")
COLUMN = Param("column", STR, None, "data column (default: the feature's name)")


@SOURCES.register(
    "synthetic",
    Param("rows", INT, 200_000), Param("scenarios", INT, 3), Param("seed", INT, 0),
    Param("shared", FLOAT, 0.7, "0 = scenarios unrelated, 1 = one shared preference"),
    Param("users", INT, 20_000), Param("items", INT, 5_000),
    Param("sparse", FLOAT, 1.0, "Zipf exponent of scenario sizes: 0 = balanced, larger = sparser tail scenarios"),
    Param("signal", FLOAT, 2.0, "scale of the preference in the click logit (how learnable clicks are)"),
    Param("sequence", BOOL, False, "add a behaviour sequence column `hist_items`"),
    Param("view", BOOL, False, "add a `view` label (detail-page browse after a click; purchase ⊂ view ⊂ click)"),
)
def synthetic():
    """The built-in multi-scenario generator with known shared and scenario-specific effects."""


@SOURCES.register("files", Param("paths", STR, variadic=True, doc="Parquet/CSV paths or globs"),
                  Param("format", enum("auto", "parquet", "csv"), "auto"))
def files():
    """Parquet or CSV files (globs allowed), read through DuckDB.

    Relative paths are relative to the spec file that writes them (an inherited `files(…)` keeps its base spec's
    directory).
    """


@SPLITS.register("hash", Param("column", STR), Param("valid", FLOAT, 0.1), Param("test", FLOAT, 0.1))
def hash_split():
    """Hold out fractions of rows by a hash of a column (e.g. the user, so no user is in two splits)."""


@SPLITS.register("time", Param("column", STR), Param("valid", one_of(INT, STR)), Param("test", one_of(INT, STR)))
def time_split():
    """Rows at or after `valid` (then `test`) in `column` go to the validation (then test) split."""


@SPLITS.register("separate", Param("train", STR), Param("valid", STR, None), Param("test", STR))
def separate_split():
    """Each split is its own file or glob."""


@SCENARIOS.register(
    "scenario",
    Param("value", one_of(STR, INT), None, "its value in the scenario column (default: its name)"),
    Param("weight", FLOAT, 1.0, "weight of its rows in every loss"),
    Param("group", STR, None, "a group name, for slicing metrics"),
)
def scenario():
    """One scenario served by the model; its position in the section is its index."""


@FEATURES.register(
    "categorical", Param("dim", INT, 16, "embedding size"), COLUMN,
    Param("min_count", INT, 1, "ids seen fewer times in training go to the OOV index"),
    Param("hash", INT, 0, "hash ids into this many buckets instead of a vocabulary (0: off)"),
    PARTITION, FIELD,
)
def categorical():
    """An id column embedded through a table; index 0 is the OOV/padding row."""


@FEATURES.register(
    "numeric", COLUMN,
    Param("normalize", BOOL, True, "z-score with training-split statistics"),
    Param("buckets", INT, 0, "quantile buckets, then embedded (0: use the value itself)"),
    Param("dim", INT, 8, "embedding size when bucketed"),
    PARTITION, FIELD,
)
def numeric():
    """A number, used as is (size 1) or bucketed by training quantiles and embedded."""


@FEATURES.register(
    "sequence", COLUMN,
    Param("max_len", INT, 20, "keep the most recent ids, pad shorter ones"),
    Param("dim", INT, 16, "embedding size"),
    Param("vocab", REF, None, "share the table of this categorical feature"),
    Param("pool", enum("mean", "sum", "none"), "mean", "`none` keeps [B, max_len, dim] for sequence blocks"),
    Param("sep", STR, None, "separator when the column holds ids as one string"),
    PARTITION, FIELD,
)
def sequence():
    """A list of ids (e.g. a behaviour sequence), embedded and pooled unless `pool=none`."""


@TASKS.register("binary", Param("label", STR, doc="0/1 label column"),
                Param("within", REF, None, "train and evaluate only on rows where this task's label is 1"))
def binary():
    """A binary prediction with its own head; `within=ctr` makes CVR-style tasks (post-click only)."""


@TASKS.register("product", Param("tasks", REF, variadic=True),
                Param("label", STR, None, "label column (default: the product of the tasks' labels)"))
def product():
    """A task predicted as the product of other tasks' probabilities (ESMM: CTCVR = CTR × CVR)."""


@OBJECTIVES.register("bce", Param("task", REF), roles={"task": "task"})
def bce():
    """Binary cross-entropy of a task over its rows (entire space, or within its `within` task's positives)."""


@OBJECTIVES.register("l2", Param("nodes", REF, variadic=True), roles={"nodes": "params"})
def l2():
    """Sum of squared parameters of the named nodes (or features' embedding tables)."""


def _opt(name, *extra, doc=""):
    OPTIMIZERS.register(name, Param("lr", FLOAT, 1e-3), Param("weight_decay", FLOAT, 0.0), *extra)(
        type(name, (), {"__doc__": doc})
    )


_opt("adam", Param("betas", list_of(FLOAT), [0.9, 0.999]), doc="Adam (fused where available).")
_opt("adamw", Param("betas", list_of(FLOAT), [0.9, 0.999]), doc="AdamW: decoupled weight decay.")
_opt("adagrad", doc="Adagrad.")
_opt("sgd", Param("momentum", FLOAT, 0.0), doc="Stochastic gradient descent.")


@SCHEDULES.register("constant")
def constant():
    """The optimizer's learning rate throughout."""


@SCHEDULES.register("cosine", Param("warmup", INT, 0, "linear warm-up steps"), Param("min_lr", FLOAT, 0.0))
def cosine():
    """Cosine decay to `min_lr` over the stage, after an optional warm-up."""


@SCHEDULES.register("step", Param("every", INT, doc="epochs between decays"), Param("gamma", FLOAT, 0.1))
def step():
    """Multiply the learning rate by `gamma` every `every` epochs."""


METRICS = ("auc", "gauc", "logloss", "pcoc")


@STOPPING.register("early_stop", Param("metric", enum(*METRICS), "auc"), Param("task", REF, None),
                   Param("patience", INT, 1, "epochs without improvement"))
def early_stop():
    """Stop a stage when the validation metric has not improved for `patience` epochs; keep the best weights."""


# The settings sections: key → type. Declaration sections (scenarios, features, tasks, graph, objective) hold
# arbitrary names whose values are calls of one category.
TRAIN_KEYS: dict[str, Type] = {
    "optimizer": call_of(OPTIMIZERS),
    "schedule": call_of(SCHEDULES),
    "early_stop": call_of(STOPPING),
    "batch": INT,
    "epochs": INT,
    "seed": INT,
    "clip": FLOAT,
    "compile": one_of(BOOL, enum("auto")),
    "device": enum("auto", "cpu", "cuda"),
    "objective": REF,
}
STAGE_KEYS = {k: TRAIN_KEYS[k] for k in ("optimizer", "schedule", "early_stop", "epochs", "clip", "objective")}
STAGE_KEYS["freeze"] = list_of(REF)
GROUP_KEYS: dict[str, Type] = {"nodes": list_of(REF, 1), "optimizer": call_of(OPTIMIZERS)}

SETTINGS: dict[str, dict[str, Type]] = {
    "data": {
        "source": call_of(SOURCES),
        "split": call_of(SPLITS),
        "scenario": STR,
        "user": STR,
        "weight": STR,
    },
    "train": TRAIN_KEYS,
    "evaluate": {
        "metrics": list_of(enum(*METRICS), 1),
        "slices": list_of(enum("scenario", "task", "overall"), 1),
    },
}
NESTED: dict[tuple[str, str], dict[str, Type]] = {("train", "stage"): STAGE_KEYS, ("train", "group"): GROUP_KEYS}
DECLARATIONS = {
    "scenarios": SCENARIOS,
    "features": FEATURES,
    "tasks": TASKS,
    "objective": OBJECTIVES,
}
SECTIONS = ("data", "scenarios", "features", "tasks", "graph", "objective", "train", "evaluate")
DEFAULTS = {
    "train": {"batch": 2048, "epochs": 1, "seed": 0, "clip": 0.0, "compile": "auto", "device": "auto",
              "objective": None, "optimizer": None, "schedule": None, "early_stop": None},
    "evaluate": {"metrics": ["auc", "gauc", "logloss", "pcoc"], "slices": ["scenario", "task", "overall"]},
    "data": {"source": None, "split": None, "scenario": "scenario", "user": None, "weight": None},
}


import compiler.papers  # noqa: E402,F401  (registers the papers' objectives, and their blocks)
