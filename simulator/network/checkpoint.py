"""Checkpoints: weights, masks, recipe, data set id and metrics, cached by what produced them.

A checkpoint is a plain dict of tensors, strings and numbers, so it loads with
`torch.load(weights_only=True)` and never executes code from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from simulator.atomic import atomic_replace
from simulator.cache import cache_dir, stable_key  # noqa: F401  (cache_dir re-exported)

FORMAT = "resim-checkpoint"
# 2: training seeds dropout from its own seed (simulator.network.train.train), so a network with
# dropout trains to other weights than version 1 did from the same producer.
FORMAT_VERSION = 2


def checkpoint_key(producer: dict[str, Any]) -> str:
    """Hash of everything that determines the trained weights (model, recipe, seed, data)."""
    return stable_key(producer, FORMAT_VERSION)


def checkpoint_path(name: str, key: str) -> Path:
    """Cache file of a workload's checkpoint."""
    return cache_dir() / "checkpoints" / f"{name}-{key}.pt"


def save_checkpoint(path: Path, *, state_dict: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                    producer: dict[str, Any], dataset_id: str, metrics: dict[str, Any]) -> None:
    """Write a checkpoint atomically (a crash never leaves half a file under the final name)."""
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
        "masks": {k: v.detach().cpu().bool() for k, v in masks.items()},
        "producer": json.dumps(producer, sort_keys=True, default=str),
        "dataset_id": dataset_id,
        "metrics": json.dumps(metrics, sort_keys=True),
    }
    with atomic_replace(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint safely; JSON-encoded fields come back as Python objects."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a resim checkpoint")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format version {payload.get('version')}, "
                         f"this resim reads version {FORMAT_VERSION}")
    payload["producer"] = json.loads(payload["producer"])
    payload["metrics"] = json.loads(payload["metrics"])
    return payload


def read_cached(path: Path) -> tuple[dict[str, Any], str]:
    """A cached checkpoint and the key of the producer stored in it (simulator.cache.read_entry
    compares it with the key its name promises: a checkpoint copied over another's name, say a
    dense one over a sparse cache name, is found out)."""
    payload = load_checkpoint(path)
    if not isinstance(payload.get("state_dict"), dict) or not isinstance(payload.get("masks"), dict):
        raise ValueError("no state_dict and masks")
    return payload, checkpoint_key(payload["producer"])
