"""The fault stage of a workload (design.md stage 5): Monte-Carlo accuracy under stuck-at faults on
its mapped network, bit-true through the tiles when asked, and seed 001's fault-aware fine-tuning
(`resim faults --aware`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from torch import nn

from simulator.config.errors import ConfigError, Problem
from simulator.config.faults import FaultOptionError, FaultSpec
from simulator.config.hardware import HardwareConfig
from simulator.config.loader import Workload
from simulator.device import Device, resolve_device
from simulator.faults.montecarlo import fault_study
from simulator.faults.summary import FaultPoint, summarise, tolerable_rates
from simulator.mapping.network import MappedNetwork
from simulator.network.train import TensorData


@dataclass(frozen=True)
class FaultStudy:
    """The fault stage's result: one row per draw, its summary per (encoding, rate), and the
    spec it ran."""

    spec: FaultSpec
    draws: pd.DataFrame
    summary: pd.DataFrame
    bit_true: bool = False

    def points(self) -> list[FaultPoint]:
        return [FaultPoint.model_validate(row) for row in self.summary.to_dict(orient="records")]

    def tolerable_rates(self, clean: float, drop: float = 0.01) -> dict[str, float]:
        """Per encoding, the rate at which the mean accuracy falls `drop` below `clean`."""
        return tolerable_rates(self.summary, clean, drop)

    def to_frame(self) -> pd.DataFrame:
        """The summary: one row per (encoding, rate) with the mean accuracy, its spread and 95 %
        interval (and, bit-true, the ADC loss); `draws` has every draw."""
        return self.summary.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able content: the spec, the summary points and every draw."""
        return {"spec": self.spec.model_dump(mode="json"), "bit_true": self.bit_true,
                "summary": [point.model_dump(mode="json") for point in self.points()],
                "draws": json.loads(self.draws.to_json(orient="records"))}

    def _repr_html_(self) -> str:
        from simulator.html_summary import summary_html

        facts = [("draws", f"{len(self.draws):,} ({self.spec.runs} per point)"),
                 ("fault model", f"stuck-off : stuck-on = {self.spec.ratio[0]:g} : {self.spec.ratio[1]:g}"),
                 ("bit-true", "yes" if self.bit_true else "no (weight level)")]
        return summary_html("Accuracy under stuck-at faults (mean over draws, 95 % interval)", facts,
                            [("per fault rate and sign encoding", accuracy_table(self.summary))])


def accuracy_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A fault summary as a table to read: one row per rate, one column per encoding, each cell the
    mean accuracy in percent with its 95 % interval."""
    cells = summary.assign(text=[f"{mean * 100:.2f} % ({low * 100:.2f}-{high * 100:.2f})" for mean, low, high
                                 in zip(summary["mean"].astype(float), summary["ci95_low"].astype(float),
                                        summary["ci95_high"].astype(float))])
    table = cells.pivot(index="rate", columns="encoding", values="text").reset_index()
    table["rate"] = table["rate"].map(lambda rate: f"{rate:g}")
    table.columns = ["fault rate", *table.columns[1:]]
    return table


def run_fault_study(workload: Workload, model: nn.Module, mapped: MappedNetwork, data: TensorData,
                    spec: FaultSpec, *, progress: bool = True, from_workload: bool = False) -> FaultStudy:
    """Monte-Carlo accuracy of `model` under stuck-at faults on its crossbars as `mapped`.

    With `spec.bit_true`, every draw is also evaluated through the bit-true crossbar emulation
    (simulator.faults.bit_true) on the workload's hardware periphery. A fault option that does not
    fit the network or the chip raises FaultOptionError naming its field, or, when the spec is the
    workload's own (`from_workload`), a ConfigError naming `faults.<field>` in its file."""
    try:
        return study_faults(model, mapped, data, spec, workload.hardware,
                            batch_size=workload.config.train.eval_batch_size, progress=progress)
    except FaultOptionError as exc:
        if not from_workload:
            raise
        raise ConfigError([Problem(workload.path, f"faults.{exc.key}", str(exc), exc.value)]) from None


def study_faults(model: nn.Module, mapped: MappedNetwork, data: TensorData, spec: FaultSpec,
                 hardware: HardwareConfig | None, *, batch_size: int = 1000, progress: bool = True) -> FaultStudy:
    """`run_fault_study` without a workload file (the Python API's in-memory networks): on the chip
    `hardware` (its array packing and, bit-true, its periphery), or with `hardware` None on the
    packing `mapped` was made for (no bit-true study then). A fault option that does not fit
    raises FaultOptionError naming its field."""
    packing = hardware.array.packing if hardware is not None else mapped.setup.packing
    spec.check_chip(packing)
    device = chip_device(spec, hardware, mapped.setup.cell_bits)
    if spec.bit_true:
        from simulator.faults.bit_true import CALIBRATION_IMAGES, Periphery, bit_true_study, summarise_bit_true

        if hardware is None:
            raise FaultOptionError("bit_true", "the bit-true study emulates a chip's DACs and ADCs: name the hardware",
                                   True)
        draws = bit_true_study(model, mapped, data.x_test, data.y_test, data.x_train[:CALIBRATION_IMAGES], spec,
                               Periphery.from_hardware(hardware, mapped.setup.size, mapped.setup.cell_bits),
                               batch_size=batch_size, progress=progress, device=device, packing=packing)
        return FaultStudy(spec, draws, summarise_bit_true(draws), bit_true=True)
    draws = fault_study(model, mapped, data.x_test, data.y_test, spec, batch_size=batch_size, progress=progress,
                        device=device, packing=packing)
    return FaultStudy(spec, draws, summarise(draws))


def chip_device(spec: FaultSpec, hardware: HardwareConfig | None, cell_bits: int) -> Device | None:
    """The chip's cell as a device when `spec` asks for the device model (None otherwise); a
    FaultOptionError naming the first device option when the chip has no device: block."""
    if not spec.device_effects or hardware is None or hardware.device is None:
        return None   # DeviceEffects.of names the option that needs one
    return resolve_device(hardware, cell_bits)


def clean_accuracy(model: nn.Module, mapped: MappedNetwork, data: TensorData, encoding: str,
                   batch_size: int) -> float:
    """Accuracy of the programmed, fault-free network (quantization only)."""
    spec = FaultSpec(rates=[0.0], encodings=[encoding], runs=1)
    return float(summarise(fault_study(model, mapped, data.x_test, data.y_test, spec, batch_size=batch_size,
                                       progress=False))["mean"].iloc[0])


def run_aware_study(workload: Workload, model: nn.Module, mapped: MappedNetwork, data: TensorData,
                    spec: FaultSpec, *, strategies: list[str], epochs: int, lr: float | None,
                    progress: bool = True) -> pd.DataFrame:
    """`aware_study` of a workload's network on its data, fine-tuning with its training recipe for
    ``epochs`` epochs at ``lr`` (default train.lr / 10, as pruning's fine-tuning)."""
    from simulator.faults.aware_training import aware_study

    cfg = workload.config
    spec.check_chip(workload.hardware.array.packing)
    recipe = cfg.train.model_copy(update={"epochs": epochs, "lr": lr or cfg.train.lr / 10})
    return aware_study(model, mapped, data, recipe, strategies=strategies, spec=spec,
                       batch_size=cfg.train.eval_batch_size, progress=progress)
