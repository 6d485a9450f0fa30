"""Atomic, pickle-free checkpoints: tensors in safetensors, everything else in a JSON manifest.

Layout of a run directory::

    RUN_DIR/
      LATEST                 name of the newest complete checkpoint (replaced atomically)
      ckpt-000120/
        tensors.safetensors  model weights and buffers, optimizer state, torch RNG state
        manifest.json        spec text and hash, data fingerprint, encoders, position, optimizer layout

A checkpoint directory is written under a temporary name and renamed into place before `LATEST` changes, so a
run killed at any moment leaves the previous checkpoint intact. Loading reads only safetensors and JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

KEEP = 2


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
                if torch.is_tensor(value):
                    tensors[f"optim.{i}.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}.{key}"] = value
        layout.append({"param_groups": state["param_groups"], "scalars": scalars,
                       "indices": sorted(state["state"])})
    return tensors, layout


def _restore_optimizers(optimizers, tensors: dict, layout: list) -> None:
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


def save(run_dir: Path, step: int, model: torch.nn.Module, optimizers: list, manifest: dict) -> Path:
    """Write checkpoint `step` atomically and point LATEST at it; keep the newest KEEP checkpoints."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_tensors, layout = _optimizer_tensors(optimizers)
    tensors |= opt_tensors
    tensors["rng.torch"] = torch.get_rng_state()
    name = f"ckpt-{step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=f".{name}."))
    save_file(tensors, str(tmp / "tensors.safetensors"))
    (tmp / "manifest.json").write_text(json.dumps({**manifest, "step": step, "optimizers": layout}, indent=1))
    final = run_dir / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _write_atomic(run_dir / "LATEST", name)
    for old in sorted(run_dir.glob("ckpt-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest(run_dir: Path) -> Path | None:
    pointer = run_dir / "LATEST"
    if not pointer.is_file():
        return None
    path = run_dir / pointer.read_text().strip()
    return path if (path / "manifest.json").is_file() else None


def read_manifest(ckpt: Path) -> dict:
    return json.loads((ckpt / "manifest.json").read_text())


def restore(ckpt: Path, model: torch.nn.Module, optimizers: list) -> dict:
    """Load weights, optimizer state and the torch RNG from `ckpt`; returns its manifest."""
    manifest = read_manifest(ckpt)
    tensors = load_file(str(ckpt / "tensors.safetensors"))
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    _restore_optimizers(optimizers, tensors, manifest["optimizers"])
    torch.set_rng_state(tensors["rng.torch"])
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
