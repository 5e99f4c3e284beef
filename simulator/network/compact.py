"""Compact checkpoints for shipping sparse networks in the repository.

Prunable weights are stored as their surviving values in float16 plus the mask packed 8 to a
byte; other tensors (biases, batch-norm statistics) as float16 where they are floating point.
A 1.8 %-dense LeNet-5 takes a few kB instead of 240 kB. Loads with `weights_only=True`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simulator.atomic import atomic_replace

FORMAT = "resim-compact"
FORMAT_VERSION = 1
_FP16_TINY = float(np.finfo(np.float16).smallest_subnormal)


def _to_half(values: torch.Tensor) -> torch.Tensor:
    """float16 that never turns a surviving weight into zero (that would change the mask)."""
    half = values.to(torch.float16)
    lost = (half == 0) & (values != 0)
    return torch.where(lost, torch.sign(values).to(torch.float16) * _FP16_TINY, half)


def export_compact(path: Path, state_dict: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                   info: dict[str, Any]) -> None:
    """Write `state_dict` with `masks` (layer name -> bool mask of `<layer>.weight`) compactly."""
    sparse, dense = {}, {}
    for key, tensor in state_dict.items():
        layer = key.removesuffix(".weight")
        if key.endswith(".weight") and layer in masks:
            mask = masks[layer].bool()
            sparse[key] = {
                "shape": torch.tensor(tuple(tensor.shape)),
                "bits": torch.from_numpy(np.packbits(mask.flatten().numpy())),
                "values": _to_half(tensor[mask]),
            }
        elif tensor.is_floating_point():
            dense[key] = tensor.to(torch.float16)
        else:
            dense[key] = tensor.clone()
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "sparse": sparse, "dense": dense,
               "info": json.dumps(info, sort_keys=True, default=str)}
    with atomic_replace(path) as tmp:
        torch.save(payload, tmp)


def read_info(path: Path) -> dict[str, Any]:
    """The `info` a compact checkpoint was exported with (its producer, metrics, how to reproduce
    it), without rebuilding its tensors; ValueError when the file is no compact checkpoint."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("info"), str):
        raise ValueError(f"{path}: not a resim compact checkpoint")
    info = json.loads(payload["info"])
    if not isinstance(info, dict):
        raise ValueError(f"{path}: its info is not a JSON object")
    return info


def load_compact(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict in float32, masks by layer name, info) from a compact checkpoint."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT \
            or not isinstance(payload.get("dense"), dict) or not isinstance(payload.get("sparse"), dict):
        raise ValueError(f"{path}: not a resim compact checkpoint")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: compact format version {payload.get('version')}, this resim reads {FORMAT_VERSION}")
    state, masks = {}, {}
    for key, tensor in payload["dense"].items():
        state[key] = tensor.float() if tensor.is_floating_point() else tensor
    for key, entry in payload["sparse"].items():
        shape = tuple(int(s) for s in entry["shape"])
        count = int(np.prod(shape))
        mask = torch.from_numpy(np.unpackbits(entry["bits"].numpy(), count=count).astype(bool)).view(shape)
        weight = torch.zeros(shape)
        weight[mask] = entry["values"].float()
        state[key] = weight
        masks[key.removesuffix(".weight")] = mask
    return state, masks, json.loads(payload["info"])
