"""The Python API: simulate any torch model, or a workload file, from a notebook or a script.

    import simulator
    sim = simulator.simulate(model, (1, 28, 28), hardware="sparse_small",
                             mapping={"crossbar_size": 32, "reorder": "kmeans"},
                             baseline="prime", data="mnist", data_dir="../shared/data",
                             faults={"rates": [1e-3, 1e-2], "runs": 5})
    sim                 # in a notebook: energy, latency, area, tiles, accuracy under faults
    sim.to_frame()      # one row per chip

`simulate` runs the stages of design.md on a `torch.nn.Module` as it is (its current weights; a
zero weight counts as pruned; nothing is trained): lowering and mapping (`map_network`), the
hardware study of `resim run` (the model's mapping on its chip, the dense mapping on the same chip,
an optional dense baseline chip) and, given test data, the accuracy and the Monte-Carlo fault
study. Given a workload file instead, it runs `resim run`'s pipeline. The stage entry points
(`map_network`, `dataflow`, `evaluate_hardware`, `fault_study`) are thin typed wrappers over the
stages' own functions: every option is validated by the workload file's schema (MappingSpec,
FaultSpec, DataSpec), so a key means the same here as in a workload. docs/api.md has the guide.

A bad argument raises `ArgumentError` (a ValueError) whose one-line message names the argument,
the key, the value given and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, get_args

import pandas as pd
from pydantic import BaseModel

from simulator.config.errors import ConfigError
from simulator.config.faults import FaultOptionError, FaultSpec
from simulator.config.hardware import HardwareConfig
from simulator.config.loader import load_hardware, validate
from simulator.config.workload import DataSpec, HardwareStudySpec, MappingSpec, TrainSpec
from simulator.faults.summary import FaultPoint
from simulator.hardware import study as hardware_study
from simulator.hardware.chip_model import Sizing
from simulator.hardware.demand import LayerDemand, layer_demand
from simulator.hardware.model import ChipSetup, ChipSummary, Comparison, ComponentEnergy, HardwareResult, chip_facts
from simulator.lowering.dataflow import Dataflow
from simulator.mapping.network import MappedNetwork
from simulator.mapping.setup import MappingSetup

if TYPE_CHECKING:   # torch is imported where a network is handled: `import simulator` stays light
    import torch
    from torch import nn

    from simulator.faults.study import FaultStudy
    from simulator.hardware.sensitivity import Sensitivity
    from simulator.network.train import TensorData
    from simulator.report.model import RunReport

# The hardware descriptions shipped with resim (hwconfigs/*.yaml), named by their stem.
SHIPPED_HARDWARE = Path(__file__).resolve().parents[1] / "hwconfigs"
DEFAULT_HARDWARE = "prime"

HardwareLike: TypeAlias = "str | Path | HardwareConfig"
MappingLike: TypeAlias = "Mapping[str, Any] | MappingSpec"
FaultsLike: TypeAlias = "Mapping[str, Any] | FaultSpec"
DataLike: TypeAlias = "str | Mapping[str, Any] | DataSpec | TensorData | tuple[torch.Tensor, torch.Tensor]"

M = TypeVar("M", bound=BaseModel)

# How a notebook summary names the chips of a study (their keys in `Simulation.chips`).
CHIP_LABELS = {"workload": "this mapping", "dense": "dense mapping, same chip", "baseline": "dense baseline chip"}


class ArgumentError(ValueError):
    """A bad argument to the API; the message names the argument, the value and what is allowed."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(message if message.startswith(argument) else f"{argument}: {message}")


# ----------------------------------------------------------------------------- the result

@dataclass(frozen=True)
class Simulation:
    """What `simulate` found: the figures every run has (per chip, the mapping's tiles, the layer
    table, accuracy under faults), and the stage results in full: for a model `mapped`, `hardware`
    and `fault_study`; for a workload file the `report` (report.json) and its results folder."""

    name: str                                    # the model's class, or the workload's name
    chips: dict[str, ChipSummary]                # "workload" (the model's mapping), "dense", "baseline"
    versus: dict[str, Comparison]                # the workload chip against each other chip
    components: dict[str, list[ComponentEnergy]]  # per chip, energy and area by component
    layers: pd.DataFrame                         # the mapping's layer table with its figures on the chip
    tiles_placed: int                            # N x N tiles the mapping places
    tiles_dense: int                             # N x N tiles of the dense grid
    accuracy: float | None = None                # float weights on the test images; None: no data
    faults: list[FaultPoint] | None = None       # accuracy under faults per (encoding, rate); None: not run
    mapped: MappedNetwork | None = None
    hardware: hardware_study.HardwareStudy | None = None
    fault_study: FaultStudy | None = None
    report: RunReport | None = None
    out_dir: Path | None = None
    sensitivity: Sensitivity | None = None       # study={"sensitivity": True}: the assumptions varied

    @property
    def chip(self) -> ChipSummary:
        """The model's mapping on its chip."""
        return self.chips["workload"]

    def to_frame(self) -> pd.DataFrame:
        """One row per chip (workload, dense, baseline): every figure of its summary (waits as
        ``wait_<class>_ns``), and the workload chip's energy efficiency and speed-up over it."""
        rows = []
        for label, summary in self.chips.items():
            figures = summary.model_dump(mode="json")
            waits = figures.pop("waits_ns")
            versus = self.versus.get(label)
            rows.append({"chip": label, **figures, **{f"wait_{k}_ns": v for k, v in waits.items()},
                         "workload_energy_efficiency": versus.energy_efficiency if versus else 1.0,
                         "workload_speedup": versus.speedup if versus else 1.0})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able content: chips, comparisons, components, tiles, accuracy, faults, layers."""
        return {
            "name": self.name,
            "chips": {label: s.model_dump(mode="json") for label, s in self.chips.items()},
            "versus": {label: c.model_dump(mode="json") for label, c in self.versus.items()},
            "components": {label: [c.model_dump(mode="json") for c in parts]
                           for label, parts in self.components.items()},
            "tiles_placed": self.tiles_placed, "tiles_dense": self.tiles_dense, "accuracy": self.accuracy,
            "faults": None if self.faults is None else [p.model_dump(mode="json") for p in self.faults],
            "layers": json.loads(self.layers.to_json(orient="records")),
            "out_dir": None if self.out_dir is None else str(self.out_dir),
        }

    def _repr_html_(self) -> str:
        from simulator.html_summary import percent, summary_html

        chip = self.chip
        facts = [("hardware", f"{chip.hardware}, {chip.crossbar_size}x{chip.crossbar_size} arrays, {chip.execution}, "
                              f"sized {chip.sizing}"), *chip_facts(chip),
                 ("crossbar tiles (mapping)", f"{self.tiles_placed:,} placed of {self.tiles_dense:,} dense")]
        if self.accuracy is not None:
            facts.append(("accuracy (float weights)", percent(self.accuracy, 2)))
        if self.out_dir is not None:
            facts.append(("results folder", str(self.out_dir)))
        chips = pd.DataFrame([{
            "chip": CHIP_LABELS.get(label, label), "hardware": s.hardware, "N": s.crossbar_size,
            "energy (uJ)": f"{s.energy_per_inference_pj / 1e6:,.4f}", "latency (us)": f"{s.latency_ns / 1e3:,.3f}",
            "area (mm^2)": f"{s.area_mm2:,.3f}", "chip tiles": s.tiles,
            "this mapping's energy efficiency": f"{self.versus[label].energy_efficiency:.2f}x"
            if label in self.versus else "-",
            "this mapping's speed-up": f"{self.versus[label].speedup:.2f}x" if label in self.versus else "-"}
            for label, s in self.chips.items()])
        tables = [("chips (per inference)", chips)]
        if self.faults:
            from simulator.faults.study import accuracy_table

            tables.append(("accuracy under stuck-at faults (mean over draws, 95 % interval)",
                           accuracy_table(pd.DataFrame([p.model_dump() for p in self.faults]))))
        return summary_html(f"resim: {self.name}", facts, tables)

    @classmethod
    def of_study(cls, name: str, mapped: MappedNetwork, layers: pd.DataFrame, study: hardware_study.HardwareStudy,
                 accuracy: float | None, faults: FaultStudy | None) -> Simulation:
        """The figures of an in-memory network's stage results."""
        mine, others = study.workload, study.others()
        return cls(name=name, chips={"workload": mine.summary, **{label: r.summary for label, r in others.items()}},
                   versus={label: mine.versus(r) for label, r in others.items()},
                   components={"workload": mine.components, **{label: r.components for label, r in others.items()}},
                   layers=layers, tiles_placed=mapped.tiles_placed, tiles_dense=mapped.tiles_dense,
                   accuracy=accuracy, faults=faults.points() if faults is not None else None, mapped=mapped,
                   hardware=study, fault_study=faults)

    @classmethod
    def of_report(cls, report: RunReport, out_dir: Path) -> Simulation:
        """The figures of a `resim run` report (a workload file's run)."""
        hw = report.hardware
        chips = {"workload": hw.summary, **{label: other.summary for label, other in hw.others().items()}}
        components = {"workload": hw.components, **{label: other.components for label, other in hw.others().items()}}
        return cls(name=report.workload, chips=chips,
                   versus={label: other.versus for label, other in hw.others().items()}, components=components,
                   layers=pd.DataFrame([layer.model_dump() for layer in report.layers]),
                   tiles_placed=report.totals.tiles_placed, tiles_dense=report.totals.tiles_dense,
                   accuracy=report.accuracy.test_accuracy if report.accuracy is not None else None,
                   faults=report.faults, report=report, out_dir=out_dir, sensitivity=report.sensitivity)


# ----------------------------------------------------------------------------- simulate

def simulate(model: nn.Module | str | Path, input_shape: Sequence[int] | None = None, *,
             hardware: HardwareLike | None = None, mapping: MappingLike | None = None,
             faults: FaultsLike | None = None, data: DataLike | None = None, data_dir: str | Path | None = None,
             baseline: HardwareLike | None = None, sizing: str | None = None,
             study: Mapping[str, Any] | None = None, seed: int | None = None, out: str | Path | None = None,
             progress: bool = False) -> Simulation:
    """Simulate `model` on a ReRAM crossbar chip and return its figures.

    `model` is a `torch.nn.Module` (on the CPU; its Conv2d and Linear layers are mapped with their
    current weights, zeros as pruned) or the path of a workload YAML file (then `resim run`'s
    pipeline runs it with `data_dir` and `out`, and the other options come from the file).

    - `input_shape`: (C, H, W) of one input; default: the data set's or the test images' shape.
    - `hardware`: a shipped design (prime, isaac, sparse_small), a hardware YAML path or a
      `HardwareConfig`; default prime.
    - `mapping`: keys of a workload's `mapping:` section (reorder, weight_bits, cell_bits,
      encoding, per_column_scale, crossbar), or `crossbar_size` for `crossbar: {size: ...}`;
      default: the array's size, skip-empty, 8-bit weights, two-column.
    - `faults`: keys of a workload's `faults:` section (rates, encodings, runs, ratio, ...); runs
      the Monte-Carlo fault study on the test images of `data` ({} for the defaults).
    - `data`: test images for the accuracy: a data set name ("mnist", found in `data_dir`, else
      RESIM_DATA, else ~/.cache/resim/data), keys of a workload's `data:` section ({"dataset":
      "mnist", "test_samples": 500}), or tensors `(x, y)` normalised as the model expects.
    - `baseline`: a dense baseline chip to compare with (as `hardware`), mapped with reorder none
      at its own array size.
    - `sizing`: fit (default: the fewest tiles that hold the network), fixed (the file's tiles) or
      iso-area (the baseline chip's area; needs `baseline`).
    - `study`: the other keys of a workload's `hardware_study:` section: replica_budget,
      replicate, execution, images, compare_dense, dac_activity, activity_images and sensitivity
      (`dac_activity: "measured"` measures input-digit activity on the test images of `data`;
      `sensitivity: True` varies every assumption of the chips' files that lists alternatives, one
      at a time, into `Simulation.sensitivity`).
    - `seed`: seed of randomised tiling strategies and of the fault draws (default 0).
    - `progress`: progress bars (fault draws; a workload's training and stages).
    """
    if isinstance(model, (str, Path)):
        return _simulate_workload(Path(model), given={"input_shape": input_shape, "hardware": hardware,
                                                      "mapping": mapping, "faults": faults, "data": data,
                                                      "baseline": baseline, "sizing": sizing, "study": study,
                                                      "seed": seed},
                                  data_dir=data_dir, out=out, progress=progress)
    network = _network(model)
    if out is not None:
        raise ArgumentError("out", "out names the results folder of a workload file's run; a model's simulation "
                                   "returns its results and writes no folder")
    chip = hardware_config(hardware if hardware is not None else DEFAULT_HARDWARE)
    base = hardware_config(baseline, "baseline") if baseline is not None else None
    inputs = hardware_study.StudyInputs(chip, _fitting(mapping_spec(mapping), chip, "hardware", base),
                                        study_spec(study, sizing or "fit", base is not None),
                                        _seed(seed if seed is not None else 0))
    spec = fault_spec(faults) if faults is not None else None
    if spec is not None and data is None:
        raise ArgumentError("faults", "the fault study measures accuracy on test images: pass data=... as well")
    if inputs.study.dac_activity == "measured" and data is None:
        raise ArgumentError("study", "study.dac_activity: 'measured' counts input digits on test images: pass "
                                     "data=... as well")
    tensors = test_data(data, data_dir) if data is not None else None
    shape = _input_shape(network, input_shape, tensors)
    from simulator.lowering.dataflow import dataflow as layer_dataflow

    flow = layer_dataflow(network, shape)
    activity = None
    if inputs.study.dac_activity == "measured":
        assert tensors is not None
        from simulator.lowering.activity import input_activity

        names = [layer.name for layer in flow.layers]     # the layers the chip runs
        from simulator.faults.bit_true import CALIBRATION_IMAGES

        # Scales as the bit-true emulation sets them (training images); tensors given as (x, y)
        # have test images only, which then set the scales.
        calibration = tensors.x_train[:CALIBRATION_IMAGES] if len(tensors.x_train) else None
        activity = input_activity(network, names, tensors.x_test[:inputs.study.activity_images],
                                  hardware_study.codings(hardware_study.requests(inputs, base)), calibration)
    simulations: dict = {}
    mapped, stored, result, pairs = _hardware_study(network, shape, flow, inputs, base, activity, simulations)
    varied = None
    if inputs.study.sensitivity:
        from simulator.hardware.sensitivity import sensitivity

        varied = sensitivity(inputs, pairs, result, activity, simulations)
    accuracy = faulted = None
    if tensors is not None:
        from simulator.network.train import evaluate

        accuracy = evaluate(network, tensors.x_test, tensors.y_test, _EVAL_BATCH)
    if spec is not None:
        assert tensors is not None
        faulted = _fault_study(network, mapped, tensors, spec, chip, progress=progress)
    simulation = Simulation.of_study(type(network).__name__, mapped,
                                     hardware_study.layer_table(stored, result.workload), result, accuracy, faulted)
    return replace(simulation, sensitivity=varied) if varied is not None else simulation


def _hardware_study(model: nn.Module, shape: tuple[int, int, int], flow: Dataflow, inputs: hardware_study.StudyInputs,
                    baseline: HardwareConfig | None, activity: hardware_study.ActivityTable | None = None,
                    simulations: dict | None = None,
                    ) -> tuple[MappedNetwork, hardware_study.StoredMapping, hardware_study.HardwareStudy,
                               list[tuple[hardware_study.MappingRequest, hardware_study.StoredMapping]]]:
    """`resim run`'s hardware study of an in-memory network: every mapping it requests, then the
    chips; the model's own mapping (the first request) comes back with the study, and every
    request with its mapping (what the sensitivity study reruns)."""
    mappings = []
    for request in hardware_study.requests(inputs, baseline):
        mapped = _map(model, shape, request.setup(inputs))
        mappings.append((request, mapped, hardware_study.summarise_mapping(mapped, flow, request)))
    pairs = [(request, stored) for request, _, stored in mappings]
    result = hardware_study.hardware_study(inputs, pairs, activity, simulations)
    _, mine, stored = mappings[0]
    return mine, stored, result, pairs


def _simulate_workload(path: Path, *, given: dict[str, Any], data_dir: str | Path | None, out: str | Path | None,
                       progress: bool) -> Simulation:
    """`resim run` on a workload file; every option the file sets must be left unset here."""
    from simulator.pipeline import run

    for argument, value in given.items():
        if value is not None:
            where = {"input_shape": "data.dataset", "data": "data", "baseline": "hardware_study.baseline",
                     "sizing": "hardware_study.sizing", "study": "hardware_study"}.get(argument, argument)
            raise ArgumentError(argument, f"{argument}: a workload file sets this itself ({where} in {path}); "
                                          "leave it unset (data_dir=... says where its data set is) or edit the file")
    if not path.is_file():
        raise ArgumentError("model", f"model: no workload file at {path} (expected a torch.nn.Module or the path of "
                                     "a workload YAML file)")
    out_dir, report = run(path, data_dir=data_dir, out=out, progress=progress)
    return Simulation.of_report(report, out_dir)


# ----------------------------------------------------------------------------- the stages

def map_network(model: nn.Module, input_shape: Sequence[int], *, hardware: HardwareLike | None = None,
                seed: int = 0, **mapping: Any) -> MappedNetwork:
    """Lower every Conv2d / Linear of `model` for inputs of `input_shape` (C, H, W) and map it to
    tiles on `hardware` (default prime: its array size, cell bits and packing) by the `mapping`
    keys (as `simulate`'s, e.g. crossbar_size=32, reorder="kmeans"); `seed` seeds randomised
    strategies."""
    network = _network(model)
    chip = hardware_config(hardware if hardware is not None else DEFAULT_HARDWARE)
    setup = MappingSetup.from_spec(_fitting(mapping_spec(mapping), chip, "hardware"), chip, _seed(seed))
    return _map(network, _input_shape(network, input_shape, None), setup)


def dataflow(model: nn.Module, input_shape: Sequence[int]) -> Dataflow:
    """Every Conv2d / Linear layer's geometry and the layers it reads (the chip's pipeline needs
    them), from `model`'s module graph (or call order where it cannot be traced)."""
    from simulator.lowering.dataflow import dataflow as layer_dataflow

    network = _network(model)
    return layer_dataflow(network, _input_shape(network, input_shape, None))


def evaluate_hardware(mapped: MappedNetwork | Sequence[LayerDemand], flow: Dataflow,
                      hardware: HardwareLike | None = None, *, setup: MappingSetup | None = None,
                      sizing: str = "fit", area_mm2: float | None = None, replica_budget: float = 0.0,
                      replicate: bool = True, execution: str = "file", images: int | None = None) -> HardwareResult:
    """Energy, latency and area of a mapped network on `hardware` (default prime), resolved at the
    mapping's tile size, by the event model.

    `mapped` is a `MappedNetwork` (`map_network`) or its layers' demands with the `setup` they
    were mapped by; `flow` is the network's `dataflow`. `sizing`: fit (the fewest tiles that hold
    every layer, plus `replica_budget` as a share of its arrays), fixed (the hardware file's
    tiles) or iso-area (`area_mm2` of chip); `replicate` fills free arrays with replicas of the
    slowest layers; `execution`: file (as the hardware says), layer-sequential or pipelined;
    `images`: images the event model runs (default 1 sequential, 3 pipelined)."""
    chip = hardware_config(hardware if hardware is not None else DEFAULT_HARDWARE)
    if isinstance(mapped, MappedNetwork):
        if setup is not None and setup != mapped.setup:
            raise ArgumentError("setup", "setup: a MappedNetwork carries its own setup; give setup=... only with "
                                         "layer demands")
        setup = mapped.setup
        levels = chip.array.read_energy_model == "conductance"
        demands = [layer_demand(layer, mapped.setup, levels=levels) for layer in mapped.layers]
    elif setup is None:
        raise ArgumentError("setup", "setup: layer demands need the MappingSetup they were mapped by (setup=...)")
    else:
        demands = list(mapped)
    if not isinstance(flow, Dataflow):
        raise ArgumentError("flow", f"flow: expected the network's Dataflow (simulator.dataflow(model, input_shape)), "
                                    f"got {type(flow).__name__}")
    if [layer.name for layer in flow.layers] != [d.name for d in demands]:
        raise ArgumentError("flow", "flow: its layers are not the mapped network's (got "
                                    f"{[layer.name for layer in flow.layers]}, mapped {[d.name for d in demands]})")
    _check_sizing(sizing)
    if (sizing == "iso-area") != (area_mm2 is not None):
        raise ArgumentError("area_mm2", "area_mm2: give it with sizing 'iso-area' (the area to fill), and only then "
                                        f"(got sizing {sizing!r}, area_mm2 {area_mm2!r})")
    # The other options are keys of a workload's hardware_study: section, checked by its schema.
    options = _validated(HardwareStudySpec, {"replica_budget": replica_budget, "replicate": replicate,
                                             "execution": execution, "images": images}, None)
    chip_setup = ChipSetup(
        encoding=setup.encoding, weight_bits=setup.weight_bits, cell_bits=setup.cell_bits, size=setup.size,
        sizing=Sizing(policy=sizing, replica_budget=options.replica_budget,  # type: ignore[arg-type]  # checked
                      area_um2=None if area_mm2 is None else area_mm2 * 1e6, replicate=options.replicate),
        execution=options.execution, images=options.images)
    from simulator.hardware.model import evaluate

    return evaluate(demands, flow, chip, chip_setup)


def fault_study(model: nn.Module, mapped: MappedNetwork, data: DataLike, faults: FaultsLike | None = None, *,
                hardware: HardwareLike | None = None, data_dir: str | Path | None = None,
                progress: bool = False) -> FaultStudy:
    """Monte-Carlo accuracy of `model` under stuck-at faults on its tiles as `mapped`, on the test
    images of `data` (as `simulate`'s), by the `faults` keys of a workload's `faults:` section
    (default: its defaults, the mapping's sign encoding). `hardware` is the chip whose packing the
    fault model must fit and whose DACs and ADCs a bit-true study emulates (needed for bit_true), and
    whose `device:` block the device model keys read (variation_scale, read_noise,
    time_since_programming_s, ir_drop; issue #24: needed for those)."""
    network = _network(model)
    if not isinstance(mapped, MappedNetwork):
        raise ArgumentError("mapped", f"mapped: expected the MappedNetwork of map_network(model, ...), "
                                      f"got {type(mapped).__name__}")
    chip = hardware_config(hardware) if hardware is not None else None
    return _fault_study(network, mapped, test_data(data, data_dir), fault_spec(faults or {}), chip,
                        progress=progress)


# ----------------------------------------------------------------------------- arguments

def hardware_config(hardware: HardwareLike, argument: str = "hardware") -> HardwareConfig:
    """A `HardwareConfig` from a shipped design's name, a hardware YAML path or itself."""
    if isinstance(hardware, HardwareConfig):
        return hardware
    shipped = sorted(p.stem for p in SHIPPED_HARDWARE.glob("*.yaml"))
    if not isinstance(hardware, (str, Path)):
        raise ArgumentError(argument, f"{argument}: expected a shipped design ({', '.join(shipped)}), a hardware "
                                      f"YAML path or a HardwareConfig, got {type(hardware).__name__}")
    path = Path(hardware).expanduser()
    if isinstance(hardware, str) and path.suffix not in (".yaml", ".yml") and len(path.parts) == 1:
        if hardware not in shipped:
            raise ArgumentError(argument, f"{argument}: {hardware!r} is not a shipped design; allowed: "
                                          f"{', '.join(shipped) or f'none found in {SHIPPED_HARDWARE}'}, or a "
                                          "hardware YAML path")
        path = SHIPPED_HARDWARE / f"{hardware}.yaml"
    if not path.is_file():
        raise ArgumentError(argument, f"{argument}: no hardware file at {path}")
    return load_hardware(path)


def mapping_spec(mapping: MappingLike | None, argument: str = "mapping") -> MappingSpec:
    """The mapping options as a workload's `mapping:` section (`crossbar_size` stands for
    `crossbar: {size: ...}`); crossbar-grained pruning, which fine-tunes, needs a workload."""
    if mapping is None:
        return MappingSpec()
    if isinstance(mapping, MappingSpec):
        spec = mapping
    elif isinstance(mapping, Mapping):
        given = dict(mapping)
        if "crossbar_size" in given:
            if "crossbar" in given:
                raise ArgumentError(argument, f"{argument}: give the tile size once, as crossbar_size or as crossbar: "
                                              f"{{size: ...}}, not both (got crossbar_size {given['crossbar_size']!r}, "
                                              f"crossbar {given['crossbar']!r})")
            given["crossbar"] = {"size": given.pop("crossbar_size")}
        spec = _validated(MappingSpec, given, argument)
    else:
        raise ArgumentError(argument, f"{argument}: expected a dict of mapping keys or a MappingSpec, "
                                      f"got {type(mapping).__name__}")
    if spec.crossbar_prune is not None:
        raise ArgumentError(argument, f"{argument}.crossbar_prune: crossbar-grained pruning fine-tunes the network, "
                                      "which the API does not; prune the model yourself, or use a workload file")
    return spec


def _fitting(spec: MappingSpec, chip: HardwareConfig, argument: str, baseline: HardwareConfig | None = None,
             ) -> MappingSpec:
    """`spec` when its weights are at least as wide as the cells of `chip` (and of `baseline`)."""
    for where, hardware in ((argument, chip), ("baseline", baseline)):
        narrower = spec.narrower_than_cells(hardware) if hardware is not None else None
        if narrower:
            raise ArgumentError("mapping", f"mapping.weight_bits: {narrower} (the {where} chip)")
    return spec


def fault_spec(faults: FaultsLike, argument: str = "faults") -> FaultSpec:
    """The fault options as a workload's `faults:` section."""
    if isinstance(faults, FaultSpec):
        return faults
    if not isinstance(faults, Mapping):
        raise ArgumentError(argument, f"{argument}: expected a dict of fault keys (rates, encodings, runs, ...) or a "
                                      f"FaultSpec, got {type(faults).__name__}")
    return _validated(FaultSpec, dict(faults), argument)


def test_data(data: DataLike, data_dir: str | Path | None = None, argument: str = "data") -> TensorData:
    """Test images as tensors: `TensorData` or `(x, y)` as given, or a data set loaded by name or
    by the keys of a workload's `data:` section (normalised as resim trains, with its first
    training images, which calibrate a bit-true study's ADCs)."""
    import torch

    from simulator.network.train import TensorData

    if isinstance(data, TensorData):
        return data
    if isinstance(data, tuple):
        if len(data) != 2 or not all(isinstance(t, torch.Tensor) for t in data):
            raise ArgumentError(argument, f"{argument}: a tuple must be two tensors (x, y), got "
                                          f"({', '.join(type(t).__name__ for t in data)})")
        x, y = data
        if x.dim() != 4 or y.dim() != 1 or len(x) != len(y) or len(y) == 0 or y.is_floating_point():
            raise ArgumentError(argument, f"{argument}: (x, y) must be images (N, C, H, W) and N integer labels, got "
                                          f"x {tuple(x.shape)}, y {tuple(y.shape)} {y.dtype}")
        return TensorData(x[:0], y[:0], x, y.long())
    if isinstance(data, str):
        data = {"dataset": data}
    if isinstance(data, Mapping):
        spec = _validated(DataSpec, dict(data), argument)
    elif isinstance(data, DataSpec):
        spec = data
    else:
        raise ArgumentError(argument, f"{argument}: expected a data set name, a dict of data keys, a TensorData or "
                                      f"tensors (x, y), got {type(data).__name__}")
    return _load_test_data(spec, data_dir, argument)


def _load_test_data(spec: DataSpec, data_dir: str | Path | None, argument: str) -> TensorData:
    from simulator.data.datasets import TestSetError, has_images, load_dataset
    from simulator.faults.bit_true import CALIBRATION_IMAGES
    from simulator.network.train import to_tensors

    directory = data_dir if data_dir is not None else spec.dir
    offline = os.environ.get("RESIM_OFFLINE", "").lower() in {"1", "true", "yes"}
    try:
        arrays = load_dataset(spec.dataset, directory, train_samples=spec.train_samples,
                              test_samples=spec.test_samples, test_set=spec.test_set, download=not offline)
    except TestSetError as exc:
        raise ArgumentError(argument, f"{argument}.test_set: {exc}") from None
    if not has_images(arrays):
        raise ArgumentError(argument, f"{argument}.dataset: {spec.dataset} has shapes only, no images to measure "
                                      "accuracy on")
    # Only the test images are measured; the first training images calibrate bit-true ADC ranges.
    arrays = dataclasses.replace(arrays, x_train=arrays.x_train[:CALIBRATION_IMAGES],
                                 y_train=arrays.y_train[:CALIBRATION_IMAGES])
    return to_tensors(arrays)


_EVAL_BATCH: int = TrainSpec.model_fields["eval_batch_size"].default


def _fault_study(model: nn.Module, mapped: MappedNetwork, data: TensorData, spec: FaultSpec,
                 hardware: HardwareConfig | None, *, progress: bool) -> FaultStudy:
    from simulator.faults.study import study_faults

    if spec.bit_true and hardware is not None and len(data.x_train) == 0:
        raise ArgumentError("data", "data: a bit-true study calibrates its ADCs on training images; pass a data set "
                                    "or a TensorData rather than test tensors (x, y)")
    try:
        return study_faults(model, mapped, data, spec, hardware, batch_size=_EVAL_BATCH, progress=progress)
    except FaultOptionError as exc:
        raise ArgumentError("faults", f"faults.{exc.key}: {exc} (got {exc.value!r})") from None


def _network(model: Any) -> nn.Module:
    """`model` checked: a torch module on the CPU with at least one Conv2d or Linear layer."""
    from torch import nn

    from simulator.pruning.masks import prunable

    if not isinstance(model, nn.Module):
        raise ArgumentError("model", f"model: expected a torch.nn.Module or the path of a workload YAML file, got "
                                     f"{type(model).__name__}")
    if not prunable(model):
        raise ArgumentError("model", f"model: {type(model).__name__} has no Conv2d or Linear layer to map")
    devices = {p.device.type for p in model.parameters()}
    if devices - {"cpu"}:
        raise ArgumentError("model", f"model: its parameters are on {', '.join(sorted(devices))}; the simulation "
                                     "reads them on the CPU (model.cpu())")
    from simulator.network.checks import bad_tensor, unmappable

    reason = bad_tensor(model.state_dict()) or unmappable(model)
    if reason:
        raise ArgumentError("model", f"model: {type(model).__name__}'s {reason}" if reason.startswith("tensor")
                            else f"model: {type(model).__name__}: {reason}")
    return model


def _input_shape(model: nn.Module, given: Sequence[int] | None, data: TensorData | None) -> tuple[int, int, int]:
    """(C, H, W) as given, else of the test images; checked by one forward pass of `model`."""
    if given is None:
        if data is None:
            raise ArgumentError("input_shape", "input_shape: give the (C, H, W) of one input, e.g. (1, 28, 28), or "
                                               "data=... to take it from the test images")
        given = tuple(int(n) for n in data.x_test.shape[1:])
    if (isinstance(given, (str, bytes)) or not isinstance(given, Sequence) or len(given) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in given)):
        raise ArgumentError("input_shape", f"input_shape: expected (C, H, W), three whole numbers > 0, got {given!r}")
    shape = (given[0], given[1], given[2])
    from simulator.lowering.layers import NothingToMap, run_with_layer_hooks

    try:
        run_with_layer_hooks(model, shape, lambda *_: None)
    except NothingToMap as exc:
        raise ArgumentError("model", f"model: {exc}") from None
    except RuntimeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArgumentError("input_shape", f"input_shape: {type(model).__name__} does not run on one input of shape "
                                           f"{shape}: {reason}") from None
    return shape


def _map(model: nn.Module, shape: tuple[int, int, int], setup: MappingSetup) -> MappedNetwork:
    from simulator.mapping.network import map_network as map_layers

    return map_layers(model, shape, setup)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ArgumentError("seed", f"seed: a whole number in [0, 2^32), got {seed!r}")
    return seed


def study_spec(study: Mapping[str, Any] | None, sizing: str, has_baseline: bool) -> HardwareStudySpec:
    """The `study` keys and `sizing` as a workload's `hardware_study:` section. The schema's
    iso-area rule asks for a baseline file beside a workload; here the baseline is an argument
    (maybe a HardwareConfig in memory), so that rule is checked on the argument instead."""
    if study is not None and not isinstance(study, Mapping):
        raise ArgumentError("study", f"study: expected a dict of hardware_study keys, got {type(study).__name__}")
    given = dict(study or {})
    for key in ("sizing", "baseline"):
        if key in given:
            raise ArgumentError("study", f"study.{key}: give it as the argument {key}=... instead")
    spec = _validated(HardwareStudySpec, given, "study")
    _check_sizing(sizing)
    if sizing == "iso-area" and not has_baseline:
        raise ArgumentError("sizing", "sizing: 'iso-area' gives the chip the baseline chip's area; pass baseline=...")
    return spec.model_copy(update={"sizing": sizing})


def _check_sizing(sizing: str) -> None:
    policies = _allowed(HardwareStudySpec, "sizing")
    if sizing not in policies:
        raise ArgumentError("sizing", f"sizing: {sizing!r} is not allowed; allowed: {', '.join(policies)}")


def _allowed(model: type[BaseModel], name: str) -> tuple[str, ...]:
    """The values a Literal field of a schema allows."""
    return tuple(get_args(model.model_fields[name].annotation))


def _validated(model: type[M], given: dict[str, Any], argument: str | None) -> M:
    """`given` validated by a workload section's schema; every problem a line naming
    `argument`.key, or the key alone where the keys are the arguments (`argument` None)."""
    try:
        return validate(model, given, Path.cwd() / (argument or model.__name__))
    except ConfigError as exc:
        named = [".".join(part for part in (argument, p.path) if part) or model.__name__ for p in exc.problems]
        lines = [str(dataclasses.replace(p, file=Path(where), path="")) for p, where in zip(exc.problems, named)]
        raise ArgumentError(argument or named[0].split(".")[0], "\n".join(lines)) from None
