"""Atomic, pickle-free checkpoints: tensors in safetensors, everything else in a JSON manifest.

Layout of a run directory::

    RUN_DIR/
      LATEST                 name of the newest complete checkpoint (replaced atomically)
      ckpt-00000120/
        tensors.safetensors  model weights and buffers, optimizer state, torch RNG states
        manifest.json        the caller's manifest (position, …) plus the optimizers' layout
      best/weights.safetensors   weights of the best validation epoch (early stopping)

One process at a time writes a run directory (`lock`). A checkpoint is written into a temporary directory and
renamed into place before `LATEST` changes, so a run killed at any moment leaves `LATEST` naming a complete
checkpoint. Each save keeps the new checkpoint and the one `LATEST` named before it, and removes the rest (older
ones, stale ones, and half-written temporary directories). Loading reads only safetensors and JSON.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _optimizer_tensors(optimizers: list[torch.optim.Optimizer]) -> tuple[dict, list]:
    """Flatten optimizer states into named tensors plus a JSON layout (param groups, non-tensor state)."""
    tensors, layout = {}, []
    for i, opt in enumerate(optimizers):
        state = opt.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if torch.is_tensor(value):  # fused Adam's `step` is a tensor too
                    tensors[f"optim.{i}.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}.{key}"] = value
        layout.append({"param_groups": state["param_groups"], "scalars": scalars,
                       "indices": sorted(state["state"])})
    return tensors, layout


def _restore_optimizers(optimizers, tensors: dict, layout: list) -> None:
    if len(optimizers) != len(layout):
        raise ValueError(f"the checkpoint has {len(layout)} optimizers, the run {len(optimizers)}")
    for i, (opt, lay) in enumerate(zip(optimizers, layout)):
        state: dict = {index: {} for index in lay["indices"]}
        prefix = f"optim.{i}."
        for name, value in tensors.items():
            if name.startswith(prefix):
                index, key = name[len(prefix):].split(".", 1)
                state[int(index)][key] = value
        for name, value in lay["scalars"].items():
            index, key = name.split(".", 1)
            state[int(index)][key] = value
        opt.load_state_dict({"state": state, "param_groups": lay["param_groups"]})


def _rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out |= {f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    return out


def _restore_rng(tensors: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def save(run_dir: Path, step: int, model: torch.nn.Module, optimizers: list, manifest: dict) -> Path:
    """Write checkpoint `step` atomically, point LATEST at it, and prune (see the module docstring)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_tensors, layout = _optimizer_tensors(optimizers)
    tensors |= opt_tensors | _rng_tensors()
    previous = latest(run_dir)
    name = f"ckpt-{step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=f".{name}."))
    save_file(tensors, str(tmp / "tensors.safetensors"))
    (tmp / "manifest.json").write_text(json.dumps({**manifest, "step": step, "optimizers": layout}, indent=1))
    final = run_dir / name
    if final.exists():  # left by a killed run after its last LATEST update: LATEST does not name it
        shutil.rmtree(final)
    os.replace(tmp, final)
    _write_atomic(run_dir / "LATEST", name)
    keep = {final, previous}
    for old in [*run_dir.glob("ckpt-*"), *run_dir.glob(".ckpt-*")]:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return final


class Busy(Exception):
    """Another process holds the run directory."""


@contextlib.contextmanager
def lock(run_dir: Path):
    """Hold the run directory for this process, or raise `Busy`. The lock is the kernel's (flock), so a killed
    process releases it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(str(run_dir)) from None
        yield


def clear(run_dir: Path) -> None:
    """Remove every checkpoint and the best weights of a run directory (a new run starts clean)."""
    for path in [*run_dir.glob("ckpt-*"), *run_dir.glob(".ckpt-*"), run_dir / "best"]:
        shutil.rmtree(path, ignore_errors=True)
    (run_dir / "LATEST").unlink(missing_ok=True)


def latest(run_dir: Path) -> Path | None:
    pointer = run_dir / "LATEST"
    if not pointer.is_file():
        return None
    path = run_dir / pointer.read_text().strip()
    return path if (path / "manifest.json").is_file() else None


def read_manifest(ckpt: Path) -> dict:
    return json.loads((ckpt / "manifest.json").read_text())


def _weights(tensors: dict) -> dict[str, torch.Tensor]:
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def read_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    """The model tensors of a checkpoint, by parameter name."""
    return _weights(load_file(str(ckpt / "tensors.safetensors")))


def restore(ckpt: Path, model: torch.nn.Module, optimizers: list) -> dict:
    """Load weights, optimizer state and the RNG states from `ckpt`; returns its manifest."""
    manifest = read_manifest(ckpt)
    tensors = load_file(str(ckpt / "tensors.safetensors"))
    model.load_state_dict(_weights(tensors))
    _restore_optimizers(optimizers, tensors, manifest["optimizers"])
    _restore_rng(tensors)
    return manifest


def save_weights(path: Path, model: torch.nn.Module) -> None:
    """Weights only (e.g. the best epoch for early stopping), written atomically."""
    path.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".weights.")
    os.close(fd)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, path / "weights.safetensors")


def load_weights(path: Path) -> dict:
    return load_file(str(path / "weights.safetensors"))
