"""The shipped workloads of issues #7 and #17: present, valid, the GPU-trained ones made by the GPU
recipe they name, and the untrained stand-in consistent with the recipe that will replace it.
Cheap: no data, no mapping."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from simulator.config import load_workload
from simulator.network.compact import load_compact
from simulator.preparation import sparse_producer

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = REPO / "workloads"
ALL = sorted(WORKLOADS.glob("*.yaml"))
# Issue #7, item 4: the workloads that must ship, each runnable with `resim run`.
ISSUE7 = ["lenet5_mnist_sparse", "vgg11_sparse", "vgg16_sparse", "vgg19_sparse", "resnet18_sparse",
          "resnet20_cifar_sparse", "alexnet_sparse"]
# Untrained stand-ins for the GPU checkpoints of issue #8: layerwise-pruned initial weights.
UNTRAINED = ["vgg11_sparse"]
# Issue #17: workloads shipping a checkpoint trained on a GPU by the recipe of workloads/gpu/ named here.
GPU_TRAINED = {"vgg16_sparse": "vgg16_cifar_sparse_7.5", "vgg16_sparse_4": "vgg16_cifar_sparse_4",
               "vgg19_sparse": "vgg19_cifar_sparse_4", "vgg19_sparse_2": "vgg19_cifar_sparse_2",
               "resnet18_sparse": "resnet18_cifar_sparse_25", "alexnet_sparse": "alexnet_cifar_sparse_11"}


def test_issue7_workloads_are_shipped() -> None:
    missing = [name for name in ISSUE7 if not (WORKLOADS / f"{name}.yaml").is_file()]
    assert not missing


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_shipped_workload_validates(path: Path) -> None:
    workload = load_workload(path)
    assert workload.config.name == path.stem, "the results folder is named after `name`"
    doc = yaml.safe_load(path.read_text())
    assert doc.get("seed") is not None, "every shipped workload fixes its seed"


def test_cli_validate_accepts_every_shipped_workload() -> None:
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "validate", *map(str, ALL)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", UNTRAINED)
def test_untrained_standin_names_its_gpu_recipe(name: str) -> None:
    path = WORKLOADS / f"{name}.yaml"
    text = path.read_text()
    cfg = load_workload(path).config
    assert cfg.train.epochs == 0 and cfg.model.checkpoint is None
    assert cfg.prune.method == "layerwise" and cfg.prune.finetune_epochs == 0
    assert cfg.data.test_samples == 1000
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "untrained" in header and "issue #8" in header
    recipes = re.findall(r"workloads/gpu/[\w.]+\.yaml", header)
    assert recipes, f"{name}: the header names no GPU recipe of issue #8"
    for recipe in recipes:
        gpu = load_workload(REPO / recipe).config
        # Batch norm is folded into no crossbar: vgg16 and vgg16_bn have the same weight matrices.
        assert gpu.model.name.removesuffix("_bn") == cfg.model.name.removesuffix("_bn"), recipe


@pytest.mark.parametrize("name", sorted(GPU_TRAINED))
def test_gpu_trained_checkpoint_was_made_by_the_recipe_it_names(name: str) -> None:
    recipe = GPU_TRAINED[name]
    path = WORKLOADS / f"{name}.yaml"
    workload = load_workload(path)
    gpu = load_workload(WORKLOADS / "gpu" / f"{recipe}.yaml").config
    cfg = workload.config
    assert (cfg.model.model_dump(exclude={"checkpoint"}), cfg.data, cfg.seed, cfg.train, cfg.prune) == \
        (gpu.model.model_dump(exclude={"checkpoint"}), gpu.data, gpu.seed, gpu.train, gpu.prune)
    assert cfg.model.checkpoint is not None and Path(cfg.model.checkpoint).name == f"{recipe}.pt"
    _, masks, info = load_compact((path.parent / cfg.model.checkpoint).resolve())
    arrays = SimpleNamespace(dataset_id=info["producer"]["dataset_id"])
    assert info["producer"] == sparse_producer(workload, arrays)
    assert info["reproduce"] == (f"resim train workloads/gpu/{recipe}.yaml --data-dir ../shared/data --device cuda "
                                 f"--export checkpoints/{recipe}.pt")
    nonzeros = sum(int(m.sum()) for m in masks.values())
    assert nonzeros / sum(m.numel() for m in masks.values()) == pytest.approx(cfg.prune.density, abs=1e-4)
    header = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert f"workloads/gpu/{recipe}.yaml" in header


def test_lenet5_sparse_checkpoint_matches_its_workload() -> None:
    path = WORKLOADS / "lenet5_mnist_sparse.yaml"
    workload = load_workload(path)
    _, masks, info = load_compact((path.parent / workload.config.model.checkpoint).resolve())
    nonzeros = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    assert nonzeros / total == pytest.approx(workload.config.prune.density, abs=1e-4)
    assert all(int(m.sum()) > 0 for m in masks.values()), "no layer pruned away"
    # The recipe that made the file is the workload's (the data set id is taken from the file).
    arrays = SimpleNamespace(dataset_id=info["producer"]["dataset_id"])
    assert info["producer"] == sparse_producer(workload, arrays)
    assert info["reproduce"].startswith(f"resim train workloads/{path.name}")
    # Same dense parent as workloads/lenet5_mnist.yaml: the cached dense checkpoint is shared.
    dense = load_workload(WORKLOADS / "lenet5_mnist.yaml").config
    assert workload.config.train == dense.train and workload.config.seed == dense.seed
