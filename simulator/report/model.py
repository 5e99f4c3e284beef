"""report.json as a typed model (issue #13): `resim run` builds a `RunReport`, writes it, and the
Markdown, HTML and sweep table read its fields. `resim schema report` prints its JSON schema.

Which stages a run did not run is derived from what it ran: every stage of `STAGES` is either in
`stages_run` or in `skipped` with the reason, never both and never neither (checked on build).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from simulator.faults.summary import FaultPoint
from simulator.hardware.model import ChipSummary, Comparison, ComponentEnergy
from simulator.hardware.sensitivity import Sensitivity

# The stages of `resim run`, in the order it runs them (design.md "The data flow").
Stage = Literal["data", "network", "crossbar pruning", "accuracy", "mapping", "hardware", "faults"]
STAGES: tuple[str, ...] = get_args(Stage)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSection(_Section):
    """The data set the run used (or, with cached mappings, only its identity)."""

    dataset: str = Field(description="Data set name")
    dataset_id: str = Field(description="Content id of the data set as used (cache keys hold it)")
    source: str | None = Field(description="File or folder it was read from; null: not loaded")
    train_images: int | None = Field(description="Training images; null: not loaded")
    test_images: int | None = Field(description="Test images; null: not loaded")


class NetworkSection(_Section):
    """The network the run mapped: its checkpoint and how it was made."""

    checkpoint: str = Field(description="Checkpoint file")
    reused_checkpoint: bool = Field(description="Loaded from the cache or shipped, not trained now")
    training: dict[str, Any] = Field(description="Training and pruning metrics stored with the checkpoint")

    @property
    def prune(self) -> dict[str, Any] | None:
        """The pruning record (method, target and reached density, rounds), if any."""
        return self.training.get("prune")

    @property
    def history(self) -> list[dict[str, Any]]:
        """Training epochs (epoch, lr, losses, accuracies, seconds)."""
        return list(self.training.get("history") or [])


class AccuracySection(_Section):
    """Test accuracy of the network with its float weights."""

    test_accuracy: float = Field(description="Top-1 accuracy")
    test_images: int = Field(description="Test images")


class MappingSection(_Section):
    """The mapping's setup."""

    crossbar_size: int = Field(description="Crossbar size N")
    reorder: str = Field(description="Tiling strategy")
    encoding: str = Field(description="Sign encoding")
    weight_bits: int = Field(description="Weight precision, sign included")
    cell_bits: int = Field(description="Bits per cell")


class Totals(_Section):
    """Whole-network sums of the layer table."""

    macs: int = Field(description="Dense multiply-accumulates per inference")
    nonzeros: int = Field(description="Nonzero weights")
    total: int = Field(description="Weights")
    tiles_dense: int = Field(description="Crossbars of the dense grid")
    tiles_placed: int = Field(description="Crossbars the strategy places")
    tiles_saved: int = Field(description="tiles_dense - tiles_placed")
    lower_bound: int = Field(description="Lower bound on placed crossbars")
    arrays_placed: int = Field(description="Physical arrays of the placed crossbars")
    index_registers: int = Field(description="Index registers")
    index_register_bits: int = Field(description="Bits of the index registers")
    density: float = Field(description="nonzeros / total")


class Histogram(_Section):
    """Share of crossbars per utilisation bin (seed 004 Fig. 4)."""

    bin_upper_edges: list[float] = Field(description="Upper edge of every bin")
    dense: list[float] = Field(description="Share of the dense grid's crossbars per bin")
    mapped: list[float] = Field(description="Share of the placed crossbars per bin")


class OtherChip(_Section):
    """A comparison mapping (dense on the same chip, or the dense baseline chip)."""

    summary: ChipSummary
    components: list[ComponentEnergy]
    versus: Comparison = Field(description="This run's mapping against this one")


class HardwareSection(_Section):
    """Energy, latency and area of the workload's mapping, with its comparisons."""

    summary: ChipSummary
    components: list[ComponentEnergy]
    timings: dict[str, float] = Field(description="Seconds per step of the hardware model")
    dense: OtherChip | None = Field(None, description="The dense mapping on the same chip")
    baseline: OtherChip | None = Field(None, description="The dense baseline chip")

    def others(self) -> dict[str, OtherChip]:
        """The comparisons present, by label."""
        return {label: chip for label, chip in (("dense", self.dense), ("baseline", self.baseline))
                if chip is not None}

    @model_serializer(mode="wrap")
    def _comparisons_only_when_run(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for label in ("dense", "baseline"):
            if data.get(label) is None:
                data.pop(label, None)
        return data


class PruneStep(_Section):
    """One step of crossbar-grained pruning (seed 004 IV, Fig. 11)."""

    step: int
    groups_removed: int
    params_pruned: int
    params_pruned_fraction: float
    tiles_placed: int
    tiles_saved_fraction: float
    test_accuracy: float | None
    reverted: bool


class LayerRecord(BaseModel):
    """One Conv2d / Linear: its lowered matrix and mapping (simulator.mapping.network.MappedNetwork
    .table), then its figures on the chip (simulator.hardware.model.evaluate). The chip's event
    counts and energies per component (``energy_<component>_pj``) follow as further fields."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    layer: str
    type: str
    weight_shape: str
    R: int
    C: int
    groups: int
    vectors: int
    macs: int
    nonzeros: int
    total: int
    density: float
    quantized_to_zero: int
    nz_cols: int
    total_cols: int
    nz_rows: int
    total_rows: int
    tiles_dense: int
    tiles_placed: int
    tiles_saved: int
    lower_bound: int
    arrays_placed: int
    index_registers: int
    index_register_bits: int
    utilization_mean: float
    mapping_seconds: float
    arrays: int
    replicas: int
    array_ops: float
    adc_conversions: float
    energy_pj: float
    latency_event_ns: float
    latency_closed_ns: float


class RunReport(_Section):
    """Everything `resim run` found for one workload (report.json)."""

    resim_version: str
    workload: str = Field(description="Workload name")
    workload_file: str
    hardware_file: str
    config_hash: str
    seed: int
    config: dict[str, Any] = Field(description="The resolved workload and hardware")
    versions: dict[str, str] = Field(description="Python, platform and package versions")
    data: DataSection
    network: NetworkSection | None = Field(description="null: mappings reused, the network not loaded")
    accuracy: AccuracySection | None = Field(description="null: not measured")
    skipped: dict[str, str] = Field(description="Stage -> why it did not run")
    mapping: MappingSection
    totals: Totals
    utilization_histogram: Histogram
    hardware: HardwareSection
    crossbar_pruning: list[PruneStep]
    faults: list[FaultPoint] | None = Field(description="Accuracy under faults per (encoding, rate); null: not run")
    sensitivity: Sensitivity | None = Field(
        None, description="The headline ratios with each assumption of the hardware files at its alternatives "
                          "(hardware_study.sensitivity, resim run --sensitivity); absent: not run")
    layers: list[LayerRecord]
    stages_run: list[Stage] = Field(description="The stages this run ran, in order")
    timings: dict[str, float] = Field(description="Seconds per stage")

    @model_validator(mode="after")
    def _every_stage_run_or_skipped(self) -> RunReport:
        ran, skipped = set(self.stages_run), set(self.skipped)
        if ran & skipped or ran | skipped != set(STAGES) or not skipped <= set(STAGES):
            raise ValueError(f"every stage must be run or skipped with a reason: ran {sorted(ran)}, "
                             f"skipped {sorted(skipped)}, stages {list(STAGES)}")
        return self

    @model_serializer(mode="wrap")
    def _sensitivity_only_when_run(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("sensitivity") is None:
            data.pop("sensitivity", None)
        return data

    @property
    def stages_not_run(self) -> list[str]:
        return [stage for stage in STAGES if stage in self.skipped]
