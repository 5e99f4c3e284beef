"""The network stage (design.md stage 2): the workload's network with its weights and masks, from
its shipped checkpoint, from the cache, or trained and pruned by its recipe (hpp measuring its
objective under faults on the workload's crossbars), then crossbar-grained pruned when the mapping
asks for it. Every result is cached by the hash of what produced it (its `producer`)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.cache import cache_dir, read_entry, report_bad_entry
from simulator.config.loader import Workload
from simulator.data.datasets import Arrays
from simulator.data.identity import DataIdentity
from simulator.mapping.cache import NetworkIdentity
from simulator.mapping.setup import Crossbars, MappingSetup

if TYPE_CHECKING:   # torch: the network's identity (cache keys) is read without it
    from torch import nn

    from simulator.mapping.crossbar_pruning import CrossbarPruneStep
    from simulator.pruning.masks import Masks


class NotTrainedError(Exception):
    """The workload's network has no checkpoint yet and training was not allowed."""


@dataclass
class PreparedNetwork:
    """The workload's trained network and where it came from."""

    model: nn.Module
    checkpoint: Path
    reused: bool
    metrics: dict[str, Any]
    masks: Masks = field(default_factory=dict)


# ----------------------------------------------------------------------------- what made a network

def producer(workload: Workload, data: Arrays | DataIdentity) -> dict[str, Any]:
    """Everything that determines the trained weights: the dense checkpoint's cache key."""
    cfg = workload.config
    return {
        # The shipped checkpoint's path is where results are stored, not what produced them.
        "model": cfg.model.model_dump(mode="json", by_alias=True, exclude={"checkpoint"}),
        "train": cfg.train.model_dump(mode="json"),
        "seed": cfg.seed,
        "dataset_id": data.dataset_id,
    }


def hpp_crossbars(workload: Workload, data: Arrays | DataIdentity) -> Crossbars:
    """The crossbars of the workload's mapping, where hpp's objective draws its faults."""
    if data.spec is None:
        raise ValueError("hpp's crossbars need the data set's input shape")
    shape = (data.spec.channels, data.spec.size, data.spec.size)
    return Crossbars(MappingSetup.of(workload), shape)


def sparse_producer(workload: Workload, data: Arrays | DataIdentity) -> dict[str, Any]:
    """What determines a pruned network: the dense producer plus the prune section (for hpp also
    the crossbars its fault objective runs on)."""
    prune = workload.config.prune
    if prune is None or prune.method != "hpp":
        # The hpp block steers only hpp; leaving it out keeps the other methods' keys unchanged.
        return {**producer(workload, data), "prune": prune.model_dump(mode="json", exclude={"hpp"}) if prune else None}
    return {**producer(workload, data), "prune": prune.model_dump(mode="json"),
            "hpp_crossbars": hpp_crossbars(workload, data).key()}


def network_identity(workload: Workload, data: Arrays | DataIdentity) -> NetworkIdentity:
    """What the network the later stages see was made from (their cache keys): its producer and,
    for a shipped checkpoint, the file's bytes."""
    made_by = sparse_producer(workload, data)
    shipped = None
    path = workload.checkpoint_path
    if path is not None:
        shipped = hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest()
    return NetworkIdentity(name=workload.config.name, model=made_by["model"], train=made_by["train"],
                           seed=made_by["seed"], dataset_id=made_by["dataset_id"], prune=made_by["prune"],
                           hpp_crossbars=made_by.get("hpp_crossbars"), shipped_sha1=shipped)


# ----------------------------------------------------------------------------- the network

def prepare_network(workload: Workload, arrays: Arrays | DataIdentity, *, force: bool = False,
                    progress: bool = True, use_shipped: bool = True, train: bool = True) -> PreparedNetwork:
    """The workload's network: its shipped checkpoint (unless `use_shipped` is off), else the
    cached or freshly trained (and pruned) one; with `train` off, a missing checkpoint raises
    NotTrainedError instead of training. With `train` off the data set's identity is enough (no
    images are read: the network comes from a checkpoint)."""
    from simulator.network.build import check_fault_layers
    from simulator.pruning.masks import prunable

    if use_shipped and workload.config.model.checkpoint is not None:
        net = load_shipped(workload, arrays)
    else:
        net = train_dense(workload, arrays, force=force, progress=progress, allow=train)
        if workload.config.prune is not None:
            net = prune_dense(workload, arrays, net, force=force, progress=progress, allow=train)
    check_fault_layers(workload, list(prunable(net.model)))
    return net


def _not_trained(workload: Workload) -> NotTrainedError:
    return NotTrainedError(f"{workload.path}: no trained checkpoint for this workload and data yet; "
                           f"run `resim train {workload.path}` first")


def load_shipped(workload: Workload, arrays: Arrays | DataIdentity) -> PreparedNetwork:
    """Load the compact checkpoint a workload ships with (no training)."""
    from simulator.network.build import build_network
    from simulator.network.checks import bad_tensor, unmappable
    from simulator.network.compact import load_compact

    path = workload.checkpoint_path
    assert path is not None
    try:
        state, masks, info = load_compact(path)
    except Exception as exc:  # noqa: BLE001 - whatever the file is, it is not a compact checkpoint
        raise _bad_shipped(workload, f"{path} is not a resim compact checkpoint (one is written by `resim train "
                                     f"WORKLOAD --export FILE`; {type(exc).__name__} reading it)") from None
    model = build_network(workload, arrays)
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    found = {name: tuple(tensor.shape) for name, tensor in state.items()}
    if found != expected:
        differing = sorted(set(found) ^ set(expected)) or sorted(k for k in found if found[k] != expected[k])
        raise _bad_shipped(workload, f"{path} holds the weights of another network than this workload's "
                                     f"{workload.config.model.name or workload.config.model.import_} "
                                     f"(they differ at {', '.join(differing[:3])})")
    reason = bad_tensor(state)
    if reason:
        raise _bad_shipped(workload, f"{path}: {reason}")
    model.load_state_dict(state)
    reason = unmappable(model)
    if reason:
        raise _bad_shipped(workload, f"{path}: {reason}")
    metrics = dict(info.get("metrics", {}))
    # A shipped file made by another recipe or data set is used, but the report says so.
    metrics["checkpoint_matches_workload"] = info.get("producer") == sparse_producer(workload, arrays)
    metrics["reproduce"] = info.get("reproduce")
    return PreparedNetwork(model, path, True, metrics, masks)


def _diverged(path: Path, reason: str) -> Exception:
    from simulator.config.errors import ConfigError, Problem

    return ConfigError([Problem(path, "", f"{reason}; this cached checkpoint cannot be used (training that "
                                          "diverged wrote it: lower train.lr; or it was altered): delete it or run "
                                          "with --force")])


def _check_trained(workload: Workload, model: nn.Module, what: str) -> None:
    """A network that training or pruning left non-finite (it diverged) is refused before it is
    cached or any figure is computed from it."""
    from simulator.config.errors import ConfigError, Problem
    from simulator.network.checks import bad_tensor

    reason = bad_tensor(model.state_dict())
    if reason:
        raise ConfigError([Problem(workload.path, "train.lr", f"{what} diverged: {reason}; lower the learning "
                                                              "rate", workload.config.train.lr)])


def _bad_shipped(workload: Workload, message: str) -> Exception:
    from simulator.config.errors import ConfigError, Problem

    return ConfigError([Problem(workload.path, "model.checkpoint", message)])


def _from_cache(path: Path, model: nn.Module, *, force: bool, made_by: dict[str, Any],
                rebuild: str = "rebuilding it") -> PreparedNetwork | None:
    """The cached checkpoint at `path` loaded into `model`, unless absent, `force`d, or not the
    checkpoint of `made_by`: unreadable, made by another producer or holding another network's
    tensors, which is named in one line (saying `rebuild`, what happens now) and leaves `model`
    untouched, so the caller trains it again from the same start and replaces the file."""
    from simulator.network.checkpoint import checkpoint_key, read_cached
    from simulator.network.checks import bad_tensor

    if force:
        return None
    saved = read_entry(path, checkpoint_key(made_by), read_cached, what="checkpoint", then=rebuild)
    if saved is None:
        return None
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    found = {name: tuple(getattr(tensor, "shape", ())) for name, tensor in saved["state_dict"].items()}
    if found != expected:
        report_bad_entry(path, "checkpoint", "holds the tensors of another network", rebuild)
        return None
    reason = bad_tensor(saved["state_dict"])
    if reason:
        # Training that diverged wrote it (or the file was altered): never compute a figure from it.
        raise _diverged(path, reason)
    model.load_state_dict(saved["state_dict"])
    return PreparedNetwork(model, path, True, saved["metrics"], saved["masks"])


def _rebuild(workload: Workload, allow: bool) -> str:
    """What happens to a cached checkpoint that cannot be used: trained again, or (where training
    is not allowed) how to do it."""
    return "rebuilding it" if allow else f"run `resim train {workload.path}` to rebuild it"


def train_dense(workload: Workload, arrays: Arrays | DataIdentity, *, force: bool, progress: bool,
                allow: bool = True) -> PreparedNetwork:
    """Load the cached dense checkpoint of this workload, or train and cache it."""
    from simulator.network.build import build_network
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.network.tensors import tensors_of
    from simulator.network.train import TrainResult, train

    made_by = producer(workload, arrays)
    # Named by the model, not the workload: sparse workloads share their dense parent's checkpoint.
    spec = workload.config.model
    label = spec.name or (spec.import_ or "").replace(":", ".")
    path = checkpoint_path(f"{label}-dense", checkpoint_key(made_by))
    model = build_network(workload, arrays)
    cached = _from_cache(path, model, force=force, made_by=made_by, rebuild=_rebuild(workload, allow))
    if cached is not None:
        return cached
    if not allow:
        raise _not_trained(workload)
    assert isinstance(arrays, Arrays), "training reads the images"
    started = time.perf_counter()
    # With no epochs the network keeps its initial weights: no optimizer, and the training images
    # are neither normalised nor read (issue #25: they were most of a cold hardware run).
    result = (train(model, workload.config.train, tensors_of(arrays), workload.config.seed, progress)
              if workload.config.train.epochs > 0 else TrainResult())
    metrics = {
        "test_accuracy": result.test_accuracy,
        "train_seconds": time.perf_counter() - started,
        "images_per_second": result.images_per_second,
        "history": [vars(record) for record in result.history],
    }
    _check_trained(workload, model, "training")
    save_checkpoint(path, state_dict=model.state_dict(), masks={}, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(model, path, False, metrics)


def prune_dense(workload: Workload, arrays: Arrays | DataIdentity, dense: PreparedNetwork, *, force: bool,
                progress: bool, allow: bool = True) -> PreparedNetwork:
    """Prune the trained dense network by the workload's method (cached like training)."""
    from simulator.network.build import build_network
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.network.tensors import tensors_of
    from simulator.pruning.masks import density
    from simulator.pruning.methods import prune

    cfg = workload.config
    assert cfg.prune is not None
    made_by = sparse_producer(workload, arrays)
    key = checkpoint_key(made_by)
    path = checkpoint_path(f"{cfg.name}-sparse", key)
    model = dense.model
    cached = _from_cache(path, model, force=force, made_by=made_by, rebuild=_rebuild(workload, allow))
    if cached is not None:
        return cached
    if not allow:
        raise _not_trained(workload)
    assert isinstance(arrays, Arrays), "pruning fine-tunes on the images"
    data = arrays
    started = time.perf_counter()
    state_dir = cache_dir() / "rounds" / f"{cfg.name}-{key}"
    result = prune(model, cfg.prune, cfg.train, tensors_of(arrays), cfg.seed, progress,
                   initial=lambda seed: build_network(workload, data, seed), state_dir=state_dir,
                   crossbars=hpp_crossbars(workload, arrays))
    metrics = {
        "test_accuracy": result.rounds[-1]["test_accuracy"] if result.rounds else None,
        "dense_test_accuracy": dense.metrics.get("test_accuracy"),
        "prune_seconds": time.perf_counter() - started,
        "prune": {"method": cfg.prune.method, "target_density": cfg.prune.density,
                  "density": density(result.masks), "rounds": result.rounds},
        "dense": {k: v for k, v in dense.metrics.items() if k != "history"},
    }
    _check_trained(workload, model, "pruning and fine-tuning")
    save_checkpoint(path, state_dict=model.state_dict(), masks=result.masks, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(model, path, False, metrics, result.masks)


def crossbar_prune(workload: Workload, arrays: Arrays, net: PreparedNetwork, *, force: bool,
                   progress: bool) -> tuple[PreparedNetwork, list[CrossbarPruneStep]]:
    """Seed 004's crossbar-grained pruning of the prepared network on the workload's mapping
    (cached like training)."""
    from simulator.data.load import input_shape
    from simulator.mapping.crossbar_pruning import CrossbarPruneStep, crossbar_grained_prune
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.network.tensors import tensors_of
    from simulator.network.train import evaluate, train
    from simulator.pruning.masks import full_masks

    cfg = workload.config
    spec = cfg.mapping.crossbar_prune
    assert spec is not None
    setup = MappingSetup.of(workload)
    made_by = {**sparse_producer(workload, arrays), "from": str(net.checkpoint),
               "crossbar_prune": spec.model_dump(mode="json"), "size": setup.size,
               "reorder": setup.reorder, "weight_bits": setup.weight_bits,
               # Before issue #13 per-column scaling was ignored here: such checkpoints must not be reused.
               **({"per_column": True} if setup.per_column else {})}
    path = checkpoint_path(f"{cfg.name}-crossbar", checkpoint_key(made_by))
    cached = _from_cache(path, net.model, force=force, made_by=made_by)
    if cached is not None:
        return cached, [CrossbarPruneStep(**step) for step in cached.metrics["steps"]]
    tensors = tensors_of(arrays)
    recipe = cfg.train.model_copy(update={"epochs": spec.finetune_epochs, "lr": spec.finetune_lr or cfg.train.lr / 10})
    counter: Iterator[int] = iter(range(10**6))

    def finetune(model: nn.Module, masks: Masks) -> None:
        if spec.finetune_epochs:
            train(model, recipe, tensors, cfg.seed + 2000 + next(counter), progress, masks=masks,
                  label="crossbar pruning ")

    masks, steps = crossbar_grained_prune(
        net.model, net.masks or full_masks(net.model), input_shape(arrays), setup,
        step_fraction=spec.step_fraction, max_steps=spec.max_steps, target_tiles=spec.target_tiles,
        accuracy_floor=spec.accuracy_floor, finetune=finetune,
        evaluate=lambda model: evaluate(model, tensors.x_test, tensors.y_test, cfg.train.eval_batch_size))
    metrics = {**net.metrics, "steps": [vars(step) for step in steps]}
    _check_trained(workload, net.model, "crossbar-grained pruning")
    save_checkpoint(path, state_dict=net.model.state_dict(), masks=masks, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(net.model, path, False, metrics, masks), steps
