"""The fault stage of a workload (design.md stage 5): Monte-Carlo accuracy under stuck-at faults on
its mapped network, bit-true through the tiles when asked, and seed 001's fault-aware fine-tuning
(`resim faults --aware`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd
from torch import nn

from simulator.config.errors import ConfigError, Problem
from simulator.config.faults import FaultOptionError, FaultSpec
from simulator.config.hardware import HardwareConfig
from simulator.config.loader import Workload
from simulator.device import Device, resolve_device
from simulator.faults.draw_store import DrawStore, study_key, tensors_digest
from simulator.faults.montecarlo import fault_study
from simulator.faults.summary import FaultPoint, mean_text, summarise, tolerable_rates
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
    # Issue #24 item 5: the summary once per device effect alone and all together (column
    # `device effects`), beside stuck-at faults only; None when not asked for or no effect is on.
    by_effect: pd.DataFrame | None = None

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
        out = {"spec": self.spec.model_dump(mode="json"), "bit_true": self.bit_true,
               "summary": [point.model_dump(mode="json") for point in self.points()],
               "draws": json.loads(self.draws.to_json(orient="records"))}
        if self.by_effect is not None:
            out["by_device_effect"] = json.loads(self.by_effect.to_json(orient="records"))
        return out

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
    cells = summary.assign(text=[mean_text(mean, low, high) for mean, low, high
                                 in zip(summary["mean"].astype(float), summary["ci95_low"].astype(float),
                                        summary["ci95_high"].astype(float))])
    table = cells.pivot(index="rate", columns="encoding", values="text").reset_index()
    table["rate"] = table["rate"].map(lambda rate: f"{rate:g}")
    table.columns = ["fault rate", *table.columns[1:]]
    return table


def effects_table(by_effect: pd.DataFrame) -> pd.DataFrame:
    """`FaultStudy.by_effect` as a table to read: one row per (device effects, rate), one column
    per encoding, each cell the mean accuracy in percent with its 95 % interval."""
    cells = by_effect.assign(text=[
        mean_text(mean, low, high)
        for mean, low, high in zip(by_effect["mean"].astype(float), by_effect["ci95_low"].astype(float),
                                   by_effect["ci95_high"].astype(float))])
    table = cells.pivot_table(index=[EFFECT_COLUMN, "rate"], columns="encoding", values="text", aggfunc="first",
                              sort=False).reset_index()
    table["rate"] = table["rate"].map(lambda rate: f"{rate:g}")
    table.columns.name = None
    return table.rename(columns={"rate": "fault rate"})


EFFECT_COLUMN = "device effects"
DEVICE_OPTIONS = ("variation_scale", "read_noise", "time_since_programming_s", "ir_drop")


def effect_label(spec: FaultSpec) -> str:
    """The device effects `spec` switches on, in words ('stuck-at only' for none)."""
    parts = [text for on, text in (
        (spec.variation_scale > 0, f"programming spread x{spec.variation_scale:g}"),
        (spec.read_noise, "read noise"),
        (spec.time_since_programming_s > 0, f"relaxation and drift after {spec.time_since_programming_s:g} s"),
        (spec.ir_drop, "IR drop")) if on]
    return " + ".join(parts) if parts else "stuck-at only"


def effect_specs(spec: FaultSpec) -> list[FaultSpec]:
    """What `resim faults` compares the encodings under (issue #24 item 5): stuck-at faults only,
    each device effect of `spec` alone with them (when it has several), and `spec` itself; all
    at weight level."""
    off = {"variation_scale": 0.0, "read_noise": False, "time_since_programming_s": 0.0, "ir_drop": False,
           "bit_true": False}
    alone = [name for name in DEVICE_OPTIONS if getattr(spec, name) not in (0, 0.0, False)]
    out = [spec.model_copy(update=off)]
    if len(alone) > 1:
        out += [spec.model_copy(update={**off, name: getattr(spec, name)}) for name in alone]
    return out


def by_device_effect(model: nn.Module, mapped: MappedNetwork, data: TensorData, spec: FaultSpec,
                     hardware: HardwareConfig | None, study: FaultStudy, *, batch_size: int = 1000,
                     progress: bool = True) -> pd.DataFrame:
    """The study's summary beside the same draws under stuck-at faults only and under each of its
    device effects alone (`effect_specs`), one frame with a `device effects` column; the draws
    are seeded alike, so the rows differ by the effects alone."""
    frames = [study_faults(model, mapped, data, one, hardware, batch_size=batch_size, progress=progress)
              .summary.assign(**{EFFECT_COLUMN: effect_label(one)}) for one in effect_specs(spec)]
    frames.append(summarise(study.draws).assign(**{EFFECT_COLUMN: effect_label(spec)}))
    frame = pd.concat(frames, ignore_index=True)
    return frame[[EFFECT_COLUMN, *[c for c in frame.columns if c != EFFECT_COLUMN]]]


def run_fault_study(workload: Workload, model: nn.Module, mapped: MappedNetwork, data: TensorData,
                    spec: FaultSpec, *, progress: bool = True, from_workload: bool = False,
                    by_effect: bool = False) -> FaultStudy:
    """Monte-Carlo accuracy of `model` under stuck-at faults on its crossbars as `mapped`.

    With `spec.bit_true`, every draw is also evaluated through the bit-true crossbar emulation
    (simulator.faults.bit_true) on the workload's hardware periphery. A fault option that does not
    fit the network or the chip raises FaultOptionError naming its field, or, when the spec is the
    workload's own (`from_workload`), a ConfigError naming `faults.<field>` in its file. With
    `by_effect` and a device effect on, the study also runs under stuck-at faults only and under
    each effect alone (`by_device_effect`: which encoding survives what)."""
    try:
        batch_size = workload.config.train.eval_batch_size
        study = study_faults(model, mapped, data, spec, workload.hardware, batch_size=batch_size, progress=progress)
        if by_effect and spec.device_effects:
            study = replace(study, by_effect=by_device_effect(model, mapped, data, spec, workload.hardware, study,
                                                              batch_size=batch_size, progress=progress))
        return study
    except FaultOptionError as exc:
        if not from_workload:
            raise
        raise ConfigError([Problem(workload.path, f"faults.{exc.key}", str(exc), exc.value)]) from None


def study_faults(model: nn.Module, mapped: MappedNetwork, data: TensorData, spec: FaultSpec,
                 hardware: HardwareConfig | None, *, batch_size: int = 1000, progress: bool = True,
                 resume: bool = True) -> FaultStudy:
    """`run_fault_study` without a workload file (the Python API's in-memory networks): on the chip
    `hardware` (its array packing and, bit-true, its periphery), or with `hardware` None on the
    packing `mapped` was made for (no bit-true study then). A fault option that does not fit
    raises FaultOptionError naming its field.

    With `resume` (the default) every finished draw is kept in the cache, keyed by the values that
    decide it (simulator.faults.draw_store), and a study that meets draws already kept takes them:
    an interrupted study continues where it stopped and a study with more rates or runs computes
    only the new draws."""
    packing = hardware.array.packing if hardware is not None else mapped.setup.packing
    spec.check_chip(packing)
    device = chip_device(spec, hardware, mapped.setup.cell_bits)
    # With the device model on, its cell (conductances, spreads, line resistance) and the array
    # packing decide a draw too.
    cell: dict[str, Any] = {} if device is None else {"device": asdict(device), "packing": packing}
    if spec.bit_true:
        from simulator.faults.bit_true import CALIBRATION_IMAGES, Periphery, bit_true_study, summarise_bit_true

        if hardware is None:
            raise FaultOptionError("bit_true", "the bit-true study emulates a chip's DACs and ADCs: name the hardware",
                                   True)
        periphery = Periphery.from_hardware(hardware, mapped.setup.size, mapped.setup.cell_bits)
        calibration = data.x_train[:CALIBRATION_IMAGES]
        store = _store(resume, model, mapped, data, spec, batch_size, periphery=asdict(periphery),
                       calibration=tensors_digest(calibration), **cell)
        draws = bit_true_study(model, mapped, data.x_test, data.y_test, calibration, spec, periphery,
                               batch_size=batch_size, progress=progress, store=store, device=device, packing=packing)
        return FaultStudy(spec, draws, summarise_bit_true(draws), bit_true=True)
    store = _store(resume, model, mapped, data, spec, batch_size, **cell)
    draws = fault_study(model, mapped, data.x_test, data.y_test, spec, batch_size=batch_size, progress=progress,
                        store=store, device=device, packing=packing)
    return FaultStudy(spec, draws, summarise(draws))


def _store(resume: bool, model: nn.Module, mapped: MappedNetwork, data: TensorData, spec: FaultSpec,
           batch_size: int, **more: Any) -> DrawStore | None:
    """The store of this study's finished draws, or None when it is not to resume."""
    return DrawStore.for_study(study_key(model, mapped, data.x_test, data.y_test, spec, batch_size, **more)) \
        if resume else None


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
    if spec.device_effects:
        key = next(name for name in DEVICE_OPTIONS if getattr(spec, name) not in (0, 0.0, False))
        raise FaultOptionError(key, "fault-aware fine-tuning is compared under stuck-at faults only; "
                                    "the device model is not modelled there", getattr(spec, key))
    recipe = cfg.train.model_copy(update={"epochs": epochs, "lr": lr or cfg.train.lr / 10})
    return aware_study(model, mapped, data, recipe, strategies=strategies, spec=spec,
                       batch_size=cfg.train.eval_batch_size, progress=progress)
