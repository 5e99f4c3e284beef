"""The stages of design.md wired together: config -> network -> lowering -> mapping -> report.

Each function does one stage; `run` strings together every stage that exists so far.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator import __version__
from simulator.config import Workload, load_workload
from simulator.data.datasets import Arrays, load_dataset


class NotTrainedError(Exception):
    """The workload's network has no checkpoint yet and training was not allowed."""


@dataclass
class PreparedNetwork:
    """The workload's trained network and where it came from."""

    model: Any                      # torch.nn.Module (torch imported lazily)
    checkpoint: Path
    reused: bool
    metrics: dict[str, Any]
    masks: dict[str, Any] = field(default_factory=dict)


def load_data(workload: Workload, data_dir: str | Path | None) -> Arrays:
    """The workload's data set, on its test set and subset as it asks; RESIM_OFFLINE=1 forbids
    downloads. A test set the data file lacks is a ConfigError naming `data.test_set`."""
    from simulator.config.errors import ConfigError, Problem
    from simulator.data.datasets import TestSetError

    data = workload.config.data
    offline = os.environ.get("RESIM_OFFLINE", "").lower() in {"1", "true", "yes"}
    try:
        return load_dataset(data.dataset, workload.data_dir(data_dir), train_samples=data.train_samples,
                            test_samples=data.test_samples, test_set=data.test_set, download=not offline)
    except TestSetError as exc:
        raise ConfigError([Problem(workload.path, "data.test_set", str(exc), exc.value)]) from None


@functools.lru_cache(maxsize=1)
def tensors_of(arrays: Arrays):
    """The data set as normalised tensors, converted once per loaded data set: training,
    evaluation and the fault study of one run share them (CIFAR-10 is 0.6 GB as float)."""
    from simulator.network.train import to_tensors

    return to_tensors(arrays)


def input_shape(arrays: Arrays) -> tuple[int, int, int]:
    """(C, H, W) of one input image."""
    return (arrays.spec.channels, arrays.spec.size, arrays.spec.size)


def producer(workload: Workload, arrays: Arrays) -> dict[str, Any]:
    """Everything that determines the trained weights: the checkpoint's cache key."""
    cfg = workload.config
    return {
        # The shipped checkpoint's path is where results are stored, not what produced them.
        "model": cfg.model.model_dump(mode="json", by_alias=True, exclude={"checkpoint"}),
        "train": cfg.train.model_dump(mode="json"),
        "seed": cfg.seed,
        "dataset_id": arrays.dataset_id,
    }


def sparse_producer(workload: Workload, arrays: Arrays) -> dict[str, Any]:
    """What determines a pruned network: the dense producer plus the prune section (for hpp also
    the crossbars its fault objective runs on)."""
    prune = workload.config.prune
    if prune is None or prune.method != "hpp":
        # The hpp block steers only hpp; leaving it out keeps the other methods' keys unchanged.
        return {**producer(workload, arrays), "prune": prune.model_dump(mode="json", exclude={"hpp"}) if prune else None}
    return {**producer(workload, arrays), "prune": prune.model_dump(mode="json"),
            "hpp_crossbars": hpp_crossbars(workload, arrays).as_dict()}


def hpp_crossbars(workload: Workload, arrays: Arrays):
    """The crossbars of the workload's mapping, where hpp's objective draws its faults."""
    from simulator.pruning.progressive import CrossbarSetup

    return CrossbarSetup.of(workload, input_shape(arrays))


def build_network(workload: Workload, arrays: Arrays, seed: int | None = None):
    """A freshly initialised network; its initial weights come from `seed` (default: the workload's)."""
    import torch

    from simulator.network.build import build_model

    torch.manual_seed(workload.config.seed if seed is None else seed)
    return build_model(workload.config.model, in_channels=arrays.spec.channels,
                       num_classes=arrays.spec.num_classes, input_size=arrays.spec.size,
                       base_dir=workload.path.parent)


def prepare_network(workload: Workload, arrays: Arrays, *, force: bool = False,
                    progress: bool = True, use_shipped: bool = True, train: bool = True) -> PreparedNetwork:
    """The workload's network: its shipped checkpoint (unless `use_shipped` is off), else the
    cached or freshly trained (and pruned) one; with `train` off, a missing checkpoint raises
    NotTrainedError instead of training."""
    if use_shipped and workload.config.model.checkpoint is not None:
        return load_shipped(workload, arrays)
    dense = train_dense(workload, arrays, force=force, progress=progress, allow=train)
    if workload.config.prune is None:
        return dense
    return prune_dense(workload, arrays, dense, force=force, progress=progress, allow=train)


def _not_trained(workload: Workload) -> NotTrainedError:
    return NotTrainedError(f"{workload.path}: no trained checkpoint for this workload and data yet; "
                           f"run `resim train {workload.path}` first")


def load_shipped(workload: Workload, arrays: Arrays) -> PreparedNetwork:
    """Load the compact checkpoint a workload ships with (no training)."""
    from simulator.network.compact import load_compact

    path = (workload.path.parent / workload.config.model.checkpoint).resolve()
    state, masks, info = load_compact(path)
    model = build_network(workload, arrays)
    model.load_state_dict(state)
    metrics = dict(info.get("metrics", {}))
    # A shipped file made by another recipe or data set is used, but the report says so.
    metrics["checkpoint_matches_workload"] = info.get("producer") == sparse_producer(workload, arrays)
    metrics["reproduce"] = info.get("reproduce")
    return PreparedNetwork(model, path, True, metrics, masks)



def _from_cache(path: Path, model, force: bool) -> PreparedNetwork | None:
    """The cached checkpoint at `path` loaded into `model`, unless absent or `force`d."""
    from simulator.network.checkpoint import load_checkpoint

    if force or not path.is_file():
        return None
    saved = load_checkpoint(path)
    model.load_state_dict(saved["state_dict"])
    return PreparedNetwork(model, path, True, saved["metrics"], saved["masks"])


def train_dense(workload: Workload, arrays: Arrays, *, force: bool, progress: bool,
                allow: bool = True) -> PreparedNetwork:
    """Load the cached dense checkpoint of this workload, or train and cache it."""
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.network.train import train

    made_by = producer(workload, arrays)
    # Named by the model, not the workload: sparse workloads share their dense parent's checkpoint.
    spec = workload.config.model
    label = spec.name or spec.import_.replace(":", ".")
    path = checkpoint_path(f"{label}-dense", checkpoint_key(made_by))
    model = build_network(workload, arrays)
    cached = _from_cache(path, model, force)
    if cached is not None:
        return cached
    if not allow:
        raise _not_trained(workload)
    started = time.perf_counter()
    result = train(model, workload.config.train, tensors_of(arrays), workload.config.seed, progress)
    metrics = {
        "test_accuracy": result.test_accuracy,
        "train_seconds": time.perf_counter() - started,
        "images_per_second": result.images_per_second,
        "history": [vars(record) for record in result.history],
    }
    save_checkpoint(path, state_dict=model.state_dict(), masks={}, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(model, path, False, metrics)


def prune_dense(workload: Workload, arrays: Arrays, dense: PreparedNetwork, *, force: bool,
                progress: bool, allow: bool = True) -> PreparedNetwork:
    """Prune the trained dense network by the workload's method (cached like training)."""
    from simulator.network.checkpoint import cache_dir, checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.pruning.masks import density
    from simulator.pruning.methods import prune

    cfg = workload.config
    made_by = sparse_producer(workload, arrays)
    key = checkpoint_key(made_by)
    path = checkpoint_path(f"{cfg.name}-sparse", key)
    model = dense.model
    cached = _from_cache(path, model, force)
    if cached is not None:
        return cached
    if not allow:
        raise _not_trained(workload)
    started = time.perf_counter()
    state_dir = cache_dir() / "rounds" / f"{cfg.name}-{key}"
    result = prune(model, cfg.prune, cfg.train, tensors_of(arrays), cfg.seed, progress,
                   initial=lambda seed: build_network(workload, arrays, seed), state_dir=state_dir,
                   crossbars=hpp_crossbars(workload, arrays))
    metrics = {
        "test_accuracy": result.rounds[-1]["test_accuracy"] if result.rounds else None,
        "dense_test_accuracy": dense.metrics.get("test_accuracy"),
        "prune_seconds": time.perf_counter() - started,
        "prune": {"method": cfg.prune.method, "target_density": cfg.prune.density,
                  "density": density(result.masks), "rounds": result.rounds},
        "dense": {k: v for k, v in dense.metrics.items() if k != "history"},
    }
    save_checkpoint(path, state_dict=model.state_dict(), masks=result.masks, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(model, path, False, metrics, result.masks)


def crossbar_prune(workload: Workload, arrays: Arrays, net: PreparedNetwork, *, force: bool,
                   progress: bool) -> tuple[PreparedNetwork, list[dict[str, Any]]]:
    """Seed 004's crossbar-grained pruning of the prepared network (cached like training)."""
    from simulator.mapping.crossbar_pruning import crossbar_grained_prune
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, save_checkpoint
    from simulator.network.train import evaluate, train
    from simulator.pruning.masks import full_masks

    cfg = workload.config
    spec = cfg.mapping.crossbar_prune
    made_by = {**sparse_producer(workload, arrays), "from": str(net.checkpoint),
               "crossbar_prune": spec.model_dump(mode="json"), "size": workload.crossbar_size,
               "reorder": cfg.mapping.reorder, "weight_bits": cfg.mapping.weight_bits}
    path = checkpoint_path(f"{cfg.name}-crossbar", checkpoint_key(made_by))
    cached = _from_cache(path, net.model, force)
    if cached is not None:
        return cached, cached.metrics["steps"]
    tensors = tensors_of(arrays)
    recipe = cfg.train.model_copy(update={"epochs": spec.finetune_epochs, "lr": spec.finetune_lr or cfg.train.lr / 10})
    counter = iter(range(10**6))

    def finetune(model, masks) -> None:
        if spec.finetune_epochs:
            train(model, recipe, tensors, cfg.seed + 2000 + next(counter), progress, masks=masks,
                  label="crossbar pruning ")

    masks, steps = crossbar_grained_prune(
        net.model, net.masks or full_masks(net.model), input_shape(arrays), size=workload.crossbar_size,
        strategy=cfg.mapping.reorder, weight_bits=cfg.mapping.weight_bits, seed=cfg.seed,
        step_fraction=spec.step_fraction, max_steps=spec.max_steps, target_tiles=spec.target_tiles,
        accuracy_floor=spec.accuracy_floor, finetune=finetune,
        evaluate=lambda model: evaluate(model, tensors.x_test, tensors.y_test, cfg.train.eval_batch_size))
    log = [vars(step) for step in steps]
    metrics = {**net.metrics, "steps": log}
    save_checkpoint(path, state_dict=net.model.state_dict(), masks=masks, producer=made_by,
                    dataset_id=arrays.dataset_id, metrics=metrics)
    return PreparedNetwork(net.model, path, False, metrics, masks), log


def run_fault_study(workload: Workload, net: PreparedNetwork, arrays: Arrays, *, rates: list[float],
                    encodings: list[str], runs: int, slice_index: int | None = None,
                    progress: bool = True, options=None, bit_true: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monte-Carlo accuracy under stuck-at faults: (one row per draw, summary per point).

    With `bit_true`, every draw is also evaluated through the bit-true crossbar emulation
    (simulator.faults.bit_true.bit_true_study) on the workload's hardware periphery.

    `options` (simulator.faults.montecarlo.FaultOptions) default to the workload's faults section;
    then an option that does not fit the network or chip is a ConfigError naming its key, while
    options given by the caller raise FaultOptionError for the caller to name."""
    from simulator.config.errors import ConfigError, Problem
    from simulator.faults.montecarlo import FaultOptionError, FaultOptions, fault_study, map_for_faults, summarise

    cfg = workload.config
    from_workload = options is None
    options = FaultOptions.from_spec(cfg.faults) if from_workload else options
    layers = map_for_faults(net.model, input_shape(arrays), workload.crossbar_size, cfg.mapping.reorder,
                            cfg.mapping.weight_bits, cfg.seed, cfg.mapping.per_column_scale)
    tensors = tensors_of(arrays)
    try:
        options.check_chip(workload.hardware.array.packing)
        if bit_true:
            from simulator.faults.bit_true import CALIBRATION_IMAGES, Periphery, bit_true_study, summarise_bit_true

            draws = bit_true_study(
                net.model, layers, tensors.x_test, tensors.y_test, tensors.x_train[:CALIBRATION_IMAGES], rates=rates,
                encodings=encodings, runs=runs, weight_bits=cfg.mapping.weight_bits, cell_bits=workload.cell_bits,
                seed=cfg.seed, periphery=Periphery.from_hardware(workload.hardware), size=workload.crossbar_size,
                per_column=cfg.mapping.per_column_scale, slice_index=slice_index,
                batch_size=cfg.train.eval_batch_size, progress=progress, options=options)
            return draws, summarise_bit_true(draws)
        draws = fault_study(net.model, layers, tensors.x_test, tensors.y_test, rates=rates, encodings=encodings,
                            runs=runs, weight_bits=cfg.mapping.weight_bits, cell_bits=workload.cell_bits,
                            seed=cfg.seed, per_column=cfg.mapping.per_column_scale, slice_index=slice_index,
                            batch_size=cfg.train.eval_batch_size, progress=progress, options=options)
    except FaultOptionError as exc:
        if not from_workload:
            raise
        raise ConfigError([Problem(workload.path, f"faults.{exc.key}", str(exc), exc.value)]) from None
    return draws, summarise(draws)


def evaluate_network(model, arrays: Arrays, batch_size: int) -> float:
    """Test accuracy of `model` on the workload's test set."""
    from simulator.network.train import evaluate

    tensors = tensors_of(arrays)
    return evaluate(model, tensors.x_test, tensors.y_test, batch_size)


def map_network(workload: Workload, model, shape: tuple[int, int, int], size: int | None = None,
                reorder: str | None = None) -> list[tuple[Any, Any]]:
    """(lowered layer, its mapping) for every Conv2d/Linear, at the workload's size and strategy
    unless given."""
    from simulator.lowering.layers import lower_network, weight_matrices
    from simulator.mapping.mapper import map_layer

    mapping = workload.config.mapping
    modules = dict(model.named_modules())
    return [(layer, map_layer(layer.name, weight_matrices(modules[layer.name]), size or workload.crossbar_size,
                              reorder or mapping.reorder, mapping.weight_bits, workload.config.seed,
                              mapping.per_column_scale))
            for layer in lower_network(model, shape)]


def layer_table(workload: Workload, mapped: list[tuple[Any, Any]]) -> pd.DataFrame:
    """One row per Conv2d/Linear: shape, (R, C), vectors, nonzeros, density, and its mapping
    (tiles dense / placed / saved, lower bound, arrays, index registers, utilisation)."""
    from simulator.mapping.tiling import physical_arrays

    mapping = workload.config.mapping
    array = workload.hardware.array
    rows = []
    for layer, layout in mapped:
        placed, dense = layout.total("placed"), layout.total("dense")
        utilization = np.concatenate([g.utilizations() for g in layout.groups])
        rows.append({
            "layer": layer.name,
            "type": layer.kind,
            "weight_shape": "x".join(map(str, layer.weight_shape)),
            "R": layer.rows,
            "C": layer.cols,
            "groups": layer.groups,
            "vectors": layer.vectors,
            "macs": layer.macs,
            "nonzeros": layer.nonzeros,
            "total": layer.total,
            "density": layer.density,
            "quantized_to_zero": layout.flushed,
            **layout.segments,
            "tiles_dense": dense,
            "tiles_placed": placed,
            "tiles_saved": dense - placed,
            "lower_bound": layout.total("bound"),
            "arrays_placed": sum(physical_arrays(g.tiles, mapping.encoding, mapping.weight_bits,
                                                 workload.cell_bits, array.cols, array.packing)
                                 for g in layout.groups),
            "index_registers": layout.registers("registers"),
            "index_register_bits": layout.registers("bits"),
            "utilization_mean": float(utilization.mean()) if utilization.size else 0.0,
            "mapping_seconds": sum(g.seconds for g in layout.groups),
        })
    return pd.DataFrame(rows)


def utilization_histogram(mapped: list[tuple[Any, Any]], bins: int = 10) -> dict[str, list]:
    """Share of tiles per utilisation decile: dense grid vs the strategy's placed tiles
    (seed 004 Fig. 4)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    out: dict[str, list] = {"bin_upper_edges": edges[1:].tolist()}
    samples = {
        "dense": [layout.grid_utilizations for _, layout in mapped],
        "mapped": [g.utilizations() for _, layout in mapped for g in layout.groups],
    }
    for label, values in samples.items():
        util = np.concatenate(values) if values else np.zeros(0)
        counts, _ = np.histogram(util, bins=edges)
        out[label] = (counts / max(util.size, 1)).tolist()
    return out


def totals(layers: pd.DataFrame) -> dict[str, Any]:
    """Whole-network sums of the layer table."""
    sums = {k: int(layers[k].sum()) for k in
            ("macs", "nonzeros", "total", "tiles_dense", "tiles_placed", "tiles_saved", "lower_bound",
             "arrays_placed", "index_registers", "index_register_bits")}
    sums["density"] = sums["nonzeros"] / sums["total"] if sums["total"] else 0.0
    return sums


def default_out_dir(workload: Workload) -> Path:
    """results/<workload>-<config hash>/ under the current folder."""
    return Path("results") / f"{workload.config.name}-{workload.config_hash()}"


def run(workload_path: str | Path, *, data_dir: str | Path | None = None, out: str | Path | None = None,
        force: bool = False, progress: bool = True, accuracy: bool = True) -> tuple[Path, dict[str, Any]]:
    """Run every stage on one workload; return the results folder and the report.

    With `accuracy` off, neither the test-set accuracy nor the fault study runs, and when the
    mappings are cached (and `force` is off) neither the data set nor the network is loaded."""
    from simulator.hardware import study
    from simulator.report.markdown import render_run
    from simulator.report.results import versions, write_results

    timings: dict[str, float] = {}
    skipped: dict[str, str] = {}
    clock = time.perf_counter()
    workload = load_workload(workload_path)
    requests = study.requests(workload, study.baseline_hardware(workload))
    spec = workload.config.faults
    if not accuracy:
        skipped["accuracy"] = "not asked for (--no-accuracy)"
        if spec is not None:
            skipped["faults"] = "not asked for (--no-accuracy)"
    stored = None
    identity = None
    if not accuracy and not force:
        identity = study.cached_identity(workload, data_dir)
        if identity is not None:
            stored = [study.load_mapping(workload, identity, r) for r in requests]
            stored = None if any(m is None for m in stored) else stored
    arrays = net = None
    crossbar_steps: list[dict[str, Any]] = []
    test_accuracy = None
    if stored is None:
        arrays = load_data(workload, data_dir)
        identity = study.DataIdentity(arrays.spec, arrays.dataset_id)
        study.remember_identity(workload, data_dir, arrays.dataset_id)
        timings["data_seconds"] = time.perf_counter() - clock

        clock = time.perf_counter()
        net = prepare_network(workload, arrays, force=force, progress=progress)
        timings["network_seconds"] = time.perf_counter() - clock
        if workload.config.mapping.crossbar_prune is not None:
            clock = time.perf_counter()
            net, crossbar_steps = crossbar_prune(workload, arrays, net, force=force, progress=progress)
            timings["crossbar_pruning_seconds"] = time.perf_counter() - clock
        if accuracy:
            clock = time.perf_counter()
            test_accuracy = evaluate_network(net.model, arrays, workload.config.train.eval_batch_size)
            timings["accuracy_seconds"] = time.perf_counter() - clock
        clock = time.perf_counter()
        stored = []
        for request in requests:
            cached = None if force else study.load_mapping(workload, identity, request)
            stored.append(cached or study.compute_mapping(workload, identity, request, net.model, input_shape(arrays)))
    else:
        skipped["network"] = "mappings reused from the cache; the network was not loaded"
    timings["mapping_seconds"] = time.perf_counter() - clock
    layers, histogram = stored[0].layers, stored[0].histogram

    clock = time.perf_counter()
    hardware = {r.label: study.evaluate_request(workload, r, m) for r, m in zip(requests, stored)}
    timings["hardware_seconds"] = time.perf_counter() - clock
    mine = hardware["workload"]
    layers = layers.merge(mine.layers.drop(columns=["tiles", "vectors", "macs", "nonzeros"]), on="layer", how="left")

    out_dir = Path(out) if out is not None else default_out_dir(workload)
    fault_summary = None
    if spec is not None and accuracy:
        from simulator.faults.montecarlo import accuracy_vs_rate_plot
        from simulator.report.atomic import write_text

        clock = time.perf_counter()
        draws, fault_summary = run_fault_study(
            workload, net, arrays, rates=spec.rates, encodings=spec.encodings or [workload.config.mapping.encoding],
            runs=spec.runs, slice_index=spec.slice_index, progress=progress, bit_true=spec.bit_true)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / "accuracy.csv", draws.to_csv(index=False))
        accuracy_vs_rate_plot(fault_summary, out_dir / "accuracy_vs_fault_rate.png", workload.config.name)
        timings["faults_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    from simulator.report.plots import energy_by_layer_plot, utilization_histogram_plot

    energy_by_layer_plot(mine.layers, out_dir / "energy_by_layer.png", f"{workload.config.name} on {mine.summary['hardware']}")
    utilization_histogram_plot(histogram, out_dir / "utilization_histogram.png",
                               f"{workload.config.name}, {workload.crossbar_size}x{workload.crossbar_size} tiles",
                               workload.config.mapping.reorder)
    timings["plot_seconds"] = time.perf_counter() - clock
    report = {
        "resim_version": __version__,
        "workload": workload.config.name,
        "workload_file": str(workload.path),
        "hardware_file": str(workload.hardware_path),
        "config_hash": workload.config_hash(),
        "seed": workload.config.seed,
        "config": workload.resolved(),
        "versions": versions(),
        "data": ({"dataset": arrays.spec.name, "dataset_id": arrays.dataset_id, "source": arrays.source,
                  "train_images": len(arrays.y_train), "test_images": len(arrays.y_test)} if arrays is not None else
                 {"dataset": identity.spec.name, "dataset_id": identity.dataset_id, "source": None,
                  "train_images": None, "test_images": None}),
        "network": ({"checkpoint": str(net.checkpoint), "reused_checkpoint": net.reused, "training": net.metrics}
                    if net is not None else None),
        "accuracy": ({"test_accuracy": test_accuracy, "test_images": len(arrays.y_test)}
                     if test_accuracy is not None else None),
        "skipped": skipped,
        "mapping": {"crossbar_size": workload.crossbar_size, "reorder": workload.config.mapping.reorder,
                    "encoding": workload.config.mapping.encoding,
                    "weight_bits": workload.config.mapping.weight_bits, "cell_bits": workload.cell_bits},
        "totals": totals(layers),
        "utilization_histogram": histogram,
        "hardware": hardware_report(hardware),
        "crossbar_pruning": crossbar_steps,
        "faults": fault_summary.to_dict(orient="records") if fault_summary is not None else None,
        "layers": layers.to_dict(orient="records"),
        "stages_not_built": ["fault-aware training"],
        "timings": timings,
    }
    from simulator.report.atomic import write_text
    from simulator.report.html import render_html

    write_text(out_dir / "report.html", render_html(report, layers, out_dir))
    write_results(out_dir, report, layers, render_run(report, layers))
    return out_dir, report


def hardware_report(results: dict[str, Any]) -> dict[str, Any]:
    """The report's hardware section: the workload's chip figures, its components, and its energy
    efficiency and speed-up over the dense mapping on the same chip and over the baseline chip."""
    from simulator.hardware.study import comparison

    mine = results["workload"]
    out: dict[str, Any] = {"summary": mine.summary, "components": mine.components.to_dict(orient="records"),
                           "timings": mine.timings}
    for label in ("dense", "baseline"):
        if label in results:
            other = results[label]
            out[label] = {"summary": other.summary, "components": other.components.to_dict(orient="records"),
                          "versus": comparison(mine.summary, other.summary)}
    return out
