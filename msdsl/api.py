"""The Python API: `compile(path)` and `run(path)`; the CLI is a thin layer over it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from compiler import IR
from compiler.ir import dump, to_json
from msdsl.overrides import check_with_overrides


@dataclass
class Program:
    """A checked spec and its lowered fx programs (built on first use: lowering imports torch)."""

    ir: IR
    vocab_sizes: dict | None = None
    _lowered: object = field(default=None, repr=False)

    @property
    def lowered(self):
        if self._lowered is None:
            from compiler.lower import lower

            self._lowered = lower(self.ir, self.vocab_sizes)
        return self._lowered

    def param_counts(self) -> dict[str, dict[str, int]]:
        from compiler.lower import param_counts

        return param_counts(self.lowered)

    def emit(self, what: str) -> str:
        """`fx`: the Python code of the predict and train programs; `ir`: the IR dump; `json`: the IR as JSON."""
        if what == "ir":
            return dump(self.ir)
        if what == "json":
            return json.dumps(to_json(self.ir), indent=1)
        low = self.lowered
        return f"# predict\n{low.predict.code.strip()}\n\n# train\n{low.train.code.strip()}\n"


def compile(path: str | Path, overrides: list[str] = ()) -> Program:
    """Check a spec (plus `--set` style overrides) and return its `Program`; raises `compiler.CompileError`."""
    return Program(check_with_overrides(path, list(overrides)))


def run(path: str | Path, overrides: list[str] = (), **options) -> str:
    """Train and evaluate a spec, storing predictions and metrics; returns the run id.

    options: those of `runtime.train.Options` (store, resume, compile, runs_dir, progress, checkpoint_every).
    """
    path = Path(path)
    program = compile(path, overrides)  # spec mistakes are reported before torch is imported
    from runtime.train import Options, train

    text = path.read_text() + "".join(f"\n# --set {o}" for o in overrides)
    return train(program.ir, path, text, Options(**options))
