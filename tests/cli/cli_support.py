"""End-to-end CLI tests: helpers to run `python -m msdsl.cli …` in a scratch directory.

Every test drives the real command line in a subprocess (cwd = a tmp dir) and checks its exit status, its output
and the store it leaves. Training is kept tiny (a 4,000-row synthetic source, one epoch) so that the folder runs
in about a minute on two cores: processes that do not depend on each other are started together (`run_all`),
and commands whose process boundary does not matter (exit status and messages of failures) run one after another
in one interpreter through `msdsl.cli.main` (`run_batch`), which pays the torch import once.
The session fixture `trained` (one small run) is in `conftest.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs"
SHARED_DATA = REPO.parent / "shared" / "data"
QUICKSTART = SPECS / "quickstart.msd"
# Small enough to train in a few seconds; the same overrides give the same rows in every run.
SMALL = ["--set", "data.source=synthetic(rows=4000, scenarios=3, seed=7, users=200, items=100)",
         "--set", "train.epochs=1", "--set", "train.batch=256"]


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # shown by pytest when an assertion on a result fails
        return (f"$ msdsl {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}"
                f"--- stderr\n{self.stderr}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env["COLUMNS"] = "200"  # tqdm and argparse widths do not depend on the terminal
    return env


def _command(args) -> list[str]:
    return [sys.executable, "-m", "msdsl.cli", *map(str, args)]


def msdsl(*args, cwd: Path, timeout: float = 300) -> Result:
    """Run `msdsl ARGS…` in `cwd` and return its exit status and output."""
    p = subprocess.run(_command(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env())
    return Result([str(a) for a in args], p.returncode, p.stdout, p.stderr)


def run_all(commands: dict[str, list], cwd: Path, timeout: float = 300) -> dict[str, Result]:
    """Start every `msdsl` command at once (each in `cwd`) and wait for all: name → Result."""
    procs = {name: subprocess.Popen(_command(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=_env())
             for name, args in commands.items()}
    results = {}
    try:
        for name, p in procs.items():
            out, err = p.communicate(timeout=timeout)
            results[name] = Result([str(a) for a in commands[name]], p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


# Runs each command of a JSON list through `msdsl.cli.main` in this one interpreter, each with its own captured
# stdout/stderr; a command that lets an exception escape gets the traceback on its stderr and exit status 1, as a
# separate `python -m msdsl.cli` process would.
_BATCH = """
import contextlib, io, json, sys, traceback
from msdsl.cli import main
out = []
for argv in json.load(sys.stdin):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        try:
            code = main(argv)
        except SystemExit as x:
            code = x.code if isinstance(x.code, int) else (0 if x.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    out.append([code, o.getvalue(), e.getvalue()])
print(json.dumps(out))
"""


def run_batch(commands: dict[str, list], cwd: Path, timeout: float = 300) -> dict[str, Result]:
    """Run `msdsl` commands one after another in one fresh interpreter (cwd `cwd`): name → Result."""
    argvs = [[str(a) for a in args] for args in commands.values()]
    p = subprocess.run([sys.executable, "-c", _BATCH], input=json.dumps(argvs), cwd=cwd, capture_output=True,
                       text=True, timeout=timeout, env=_env())
    assert p.returncode == 0, f"the batch driver failed:\n{p.stderr}"
    results = json.loads(p.stdout.strip().splitlines()[-1])
    return {name: Result(argv, code, out, err) for name, argv, (code, out, err) in zip(commands, argvs, results)}


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, str(result)


def run_id(result: Result) -> str:
    """The run id printed by `msdsl run` ("run 1a2b3c4d5e6f: test metrics (store …)")."""
    for line in result.stdout.splitlines():
        if line.startswith("run ") and ": test metrics" in line:
            return line.split()[1].rstrip(":")
    raise AssertionError(f"no run id in the output\n{result}")
