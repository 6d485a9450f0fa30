"""Golden files for the lowering pass: `gm.code` of each spec's `predict` program.

Regenerate after an intended change with `MSDSL_UPDATE_GOLDEN=1 pytest tests/lower/test_lower_golden.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import compiler
from compiler.lower import lower

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.msd"))


@pytest.mark.parametrize("spec", SPECS)
def test_lower_golden(spec):
    code = lower(compiler.check_file(ROOT / "specs" / f"{spec}.msd")).predict.code.strip() + "\n"
    path = GOLDEN / f"{spec}.fx.txt"
    if os.environ.get("MSDSL_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(code)
    assert path.exists(), f"no golden file {path.name}: run with MSDSL_UPDATE_GOLDEN=1"
    assert code == path.read_text(), f"{spec}: predict code changed; if intended, regenerate with MSDSL_UPDATE_GOLDEN=1"
