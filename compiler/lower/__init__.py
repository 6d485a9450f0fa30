"""Lowering: a checked IR → `torch.fx.GraphModule` programs built node by node with the fx Graph API.

    >>> ir = compiler.check_file("specs/quickstart.msd")                 # doctest: +SKIP
    >>> low = lower(ir, {"user_id": 20_001, …})                           # doctest: +SKIP
    >>> call(low.predict.eval(), batch)["prob"]["ctr"]                    # doctest: +SKIP

One lowering function per block kind (`dense.py`, `experts.py`, `star.py`), feature type (`features.py`) and
objective (`objectives.py`), registered in the tables of `context.py`; an unknown kind raises `LowerError`.
`program.py` assembles the `predict` and `train` programs; `kernels.py` holds the batched per-scenario ops.
"""

from compiler.lower.context import (
    BLOCKS,
    FEATURES,
    OBJECTIVES,
    LowerError,
    Params,
    lowers_block,
    lowers_feature,
    lowers_objective,
)
from compiler.lower.program import Lowered, call, lower, maybe_compile, param_counts

__all__ = ["BLOCKS", "FEATURES", "OBJECTIVES", "LowerError", "Lowered", "Params", "call", "lower", "lowers_block",
           "lowers_feature", "lowers_objective", "maybe_compile", "param_counts"]
