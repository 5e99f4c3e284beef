"""Shipped sparse checkpoints: small, safe to load, and the density tables resim reports for them
match the checkpoint files exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from simulator.config import load_workload
from simulator.data.load import input_shape, load_data
from simulator.mapping.network import map_network
from simulator.mapping.setup import MappingSetup
from simulator.network.compact import load_compact
from simulator.preparation import prepare_network

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (REPO / "workloads").glob("*.yaml")
                 if (yaml.safe_load(p.read_text()).get("model") or {}).get("checkpoint"))


def test_some_checkpoints_are_shipped() -> None:
    assert len(SHIPPED) >= 2, "the LeNet-5 IMP checkpoints at least"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_checkpoint_density_table_matches_file(path: Path, shared_data: Path) -> None:
    workload = load_workload(path)
    checkpoint = (path.parent / workload.config.model.checkpoint).resolve()
    assert checkpoint.stat().st_size < 8 * 2**20
    assert torch.load(checkpoint, weights_only=True)["format"] == "resim-compact"
    _, masks, info = load_compact(checkpoint)
    # Made by this workload, or by the GPU recipe whose blocks it copies (tests/test_workloads.py).
    assert info["reproduce"].startswith((f"resim train workloads/{path.name}", "resim train workloads/gpu/"))

    arrays = load_data(workload, shared_data)
    net = prepare_network(workload, arrays, progress=False)
    assert net.metrics["checkpoint_matches_workload"] is True
    # The density table does not depend on the tiling strategy: the fastest one keeps the test cheap.
    setup = MappingSetup.of(workload, reorder="skip-empty")
    table = map_network(net.model, input_shape(arrays), setup).table().set_index("layer")
    assert set(table.index) == set(masks)
    for name, mask in masks.items():
        assert table.loc[name, "nonzeros"] == int(mask.sum()), name
        assert table.loc[name, "total"] == mask.numel(), name
    density = sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())
    assert density == pytest.approx(workload.config.prune.density, abs=1e-4)
