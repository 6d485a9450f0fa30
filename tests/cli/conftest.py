"""Fixtures of the CLI tests (helpers in `cli_support.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_support import QUICKSTART, SMALL, Result, msdsl, run_id


@dataclass
class Trained:
    dir: Path
    run: str
    result: Result


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    """One small quickstart run, trained once for the whole folder, in its own directory and store."""
    d = tmp_path_factory.mktemp("trained")
    result = msdsl("run", QUICKSTART, "-q", *SMALL, cwd=d)
    assert result.returncode == 0, str(result)
    return Trained(d, run_id(result), result)
