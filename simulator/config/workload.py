"""Workload description: network, data set, training recipe, mapping and the hardware file.

Paths inside a workload are resolved relative to the workload file itself, so a workload and its
hardware description can be moved together.
"""

from __future__ import annotations

import importlib.machinery
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import StrictBool, StrictInt, ValidationInfo, field_validator, model_serializer, model_validator

from simulator import shipped
from simulator.config.faults import Encoding, FaultSpec, RatioPreset
from simulator.config.fields import StrictModel, field, non_finite
from simulator.config.hardware import HardwareConfig
from simulator.mapping.strategies import STRATEGY_NAMES
from simulator.network.names import ZOO_MODEL_NAMES

DatasetName = Literal["mnist", "fashion-mnist", "cifar10", "cifar100", "imagenet-shape"]
ZooName = Literal[ZOO_MODEL_NAMES]  # type: ignore[valid-type]

# Longest workload name: file names built from it add up to about 45 characters (".<name>-crossbar-<16-digit
# key>.pt.<8>.tmp", simulator/atomic.py) and most file systems allow 255 bytes per name.
NAME_MAX = 200

_IMPORT_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_]\w*$")


def _base_dir(info: ValidationInfo) -> Path:
    """Folder of the file being validated (paths in it are relative to it)."""
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def _missing(what: str, path: Path) -> str:
    """Why the `what` file at `path` cannot be read: not found, or what it is instead (a device, a
    named pipe, a folder)."""
    from simulator.files import special_kind

    kind = special_kind(path)
    return f"{path} is {kind}, not a {what} file" if kind else f"{what} file not found at {path}"


def _check_reference(kind: shipped.Kind, value: str, info: ValidationInfo) -> None:
    """A file this workload names (relative to it), or else the shipped file of that name (`prime`,
    `vgg16_cifar_sparse_7.5.pt`): a path that exists wins, and it must be a regular file."""
    path = _base_dir(info) / value
    if path.is_file() or (not path.exists() and shipped.path_of(kind, value) is not None):
        return
    message = _missing("hardware" if kind == "hardware" else kind, path)
    if not path.exists():
        message += f", and {shipped.unknown(kind, value)}"
    raise ValueError(message)


class ModelSpec(StrictModel):
    """Which network: a zoo model by name, or the user's own builder function."""

    name: ZooName | None = field(None, description="Model zoo name", unit="text")
    import_: str | None = field(
        None,
        alias="import",
        description=(
            "The user's own model as 'package.module:function'; the workload's folder is on the "
            "import path. The function gets in_channels, num_classes, input_size and kwargs"
        ),
        unit="text",
    )
    kwargs: dict[str, Any] = field(
        default_factory=dict, description="Extra keyword arguments of the builder", unit="mixed"
    )
    checkpoint: str | None = field(
        None,
        description=(
            "A compact checkpoint (relative to this workload, or the file name of one shipped with resim) "
            "loaded instead of training and pruning; written by `resim train WORKLOAD --export FILE`"
        ),
        unit="path",
    )

    @field_validator("checkpoint")
    @classmethod
    def _checkpoint_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _check_reference("checkpoint", value, info)
        return value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ModelSpec:
        if (self.name is None) == (self.import_ is None):
            raise ValueError("give exactly one of 'name' (a zoo model) or 'import'")
        return self

    @field_validator("kwargs")
    @classmethod
    def _finite_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        where = non_finite(value)
        if where is not None:
            raise ValueError(f"kwargs.{where} is not a finite number; every number must be finite")
        return value

    @field_validator("import_")
    @classmethod
    def _locatable(cls, value: str | None, info: ValidationInfo) -> str | None:
        """'package.module:function', its module found as a file beside the workload or on
        sys.path without importing it: a user's package runs its code only when a command
        builds the network (run, train, eval, map, faults), never in `resim validate`."""
        if value is None:
            return value
        if not _IMPORT_SPEC.match(value):
            raise ValueError("must look like 'package.module:function'")
        module = value.split(":")[0]
        if not _module_file_exists(module, [str(_base_dir(info)), *sys.path]):
            raise ValueError(f"module '{module}' not found (searched the workload's folder and sys.path)")
        return value


def _module_file_exists(module: str, search: list[str]) -> bool:
    """Whether `module` (dotted) has a source file, package or extension on `search`, found by
    the path finder alone: no package's __init__ runs (importlib.util.find_spec imports parents)."""
    locations: list[str] | None = search
    spec = None
    for depth, _ in enumerate(module.split(".")):
        name = ".".join(module.split(".")[: depth + 1])
        if locations is None:
            return False   # a plain module has no submodules
        if depth == 0 and name in sys.builtin_module_names:
            return True
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, locations)
        except (ImportError, ValueError, OSError):
            return False
        if spec is None:
            return False
        locations = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
    return spec is not None


class DataSpec(StrictModel):
    """The data set and how much of it to use."""

    dataset: DatasetName = field(
        description="Data set name; imagenet-shape: 3x224x224 inputs and 1000 classes with no images, for hardware "
                    "studies of untrained networks (no training, no accuracy)", unit="text")
    dir: str | None = field(
        None,
        description=(
            "Data directory, relative to the workload file; overridden by --data-dir, falls back "
            "to RESIM_DATA, then ~/.cache/resim/data"
        ),
        unit="path",
    )
    train_samples: StrictInt | None = field(
        None, description="Use only the first n training images (quick runs)", unit="images", ge=1
    )
    test_samples: StrictInt | None = field(
        None, description="Use only the first n test images (quick runs) of the test_set", unit="images", ge=1
    )
    test_set: Literal["all", "exact-head"] = field(
        "all",
        description=(
            "Test images: all (the file's x_test) or exact-head (its x_test_exact_head, exact copies of the "
            "first test images, with their labels; the shared CIFAR-10 .npz has 1017, its x_test is "
            "JPEG-recovered). A file without that array is an error. Part of the data set id, so of cache keys"
        ),
        unit="text",
    )

    @model_serializer(mode="wrap")
    def _dump_without_default_test_set(self, handler: Any) -> dict[str, Any]:
        # The dump enters the workload's config hash; "all" is how every workload written before
        # this field existed tests, so leaving it out keeps their hashes and result folders.
        data = handler(self)
        if self.test_set == "all":
            data.pop("test_set", None)
        return data


class AugmentSpec(StrictModel):
    """Training-time augmentation, applied on the fly per batch."""

    crop_padding: StrictInt = field(
        0, description="Random crop after zero padding by this many pixels (0: off)", unit="pixel", ge=0, le=16
    )
    horizontal_flip: StrictBool = field(False, description="Random horizontal flips", unit="flag")
    jpeg_quality: StrictInt | None = field(
        None,
        description=(
            "Re-encode training images as JPEG at this quality (1-100) and decode them, before the "
            "crop and flip, as the JPEG-recovered CIFAR-10 test set was made (data/README.md); "
            "0 or null: off. On CUDA the chosen images go through the CPU for the codec"
        ),
        unit="1",
        ge=0,
        le=100,
    )
    jpeg_probability: float = field(
        0.5,
        description=(
            "Chance, drawn per image, that a training image gets jpeg_quality (with it on); 0.5 kept "
            "exact-test accuracy where 1.0 lost some (examples/README.md, jpeg_augmentation.py)"
        ),
        unit="1",
        ge=0,
        le=1,
    )

    @field_validator("jpeg_quality")
    @classmethod
    def _zero_quality_is_off(cls, value: int | None) -> int | None:
        return None if value == 0 else value

    @model_serializer(mode="wrap")
    def _dump_without_jpeg_when_off(self, handler: Any) -> dict[str, Any]:
        # The dump is part of the checkpoint key: with JPEG off (every recipe made before these
        # fields existed) both fields are left out, so those keys stay as they were.
        data = handler(self)
        if self.jpeg_quality is None:
            data.pop("jpeg_quality", None)
            data.pop("jpeg_probability", None)
        return data


class TrainSpec(StrictModel):
    """Training recipe (seed 001: SGD lr 0.1, weight decay 5e-4, StepLR step 1 gamma 0.95)."""

    epochs: StrictInt = field(10, description="Training epochs", unit="epoch", ge=0, le=10000)
    batch_size: StrictInt = field(128, description="Mini-batch size", unit="images", ge=1, le=65536)
    eval_batch_size: StrictInt = field(
        1000, description="Batch size for evaluation", unit="images", ge=1, le=65536
    )
    optimizer: Literal["sgd", "adam"] = field("sgd", description="Optimizer", unit="text")
    lr: float = field(0.1, description="Initial learning rate", unit="1", gt=0, le=10)
    momentum: float = field(0.9, description="SGD momentum (adam: beta1)", unit="1", ge=0, lt=1)
    nesterov: StrictBool = field(False, description="Nesterov momentum (sgd only)", unit="flag")
    weight_decay: float = field(5e-4, description="L2 weight decay", unit="1", ge=0, le=1)
    schedule: Literal["none", "step", "cosine", "onecycle"] = field(
        "step", description="Learning-rate schedule, stepped once per epoch (onecycle: per batch)", unit="text"
    )
    step_size: StrictInt = field(1, description="StepLR period", unit="epoch", ge=1, le=10000)
    gamma: float = field(0.95, description="StepLR decay factor", unit="1", gt=0, le=1)
    augment: AugmentSpec = field(default_factory=AugmentSpec, description="Augmentation", unit="block")
    device: Literal["auto", "cpu", "cuda"] = field(
        "auto",
        description=(
            "Where training runs: auto (CUDA when present, else the CPU), cpu or cuda; `resim train "
            "--device` overrides it. Every random draw is the same on both, so it is not in the checkpoint key"
        ),
        unit="text",
    )
    mixed_precision: Literal["off", "bf16", "fp16"] = field(
        "off",
        description=(
            "Autocast dtype of forward and loss on CUDA (fp16 adds a gradient scaler); off: float32. "
            "CUDA only: training with it on the CPU is an error. Part of the checkpoint key"
        ),
        unit="text",
    )
    channels_last: StrictBool = field(
        False, description="Channels-last memory layout of images and conv weights (faster on GPU tensor cores)",
        unit="flag",
    )

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> TrainSpec:
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs optimizer 'sgd' with momentum > 0")
        return self

    @model_serializer(mode="wrap")
    def _dump_what_shapes_the_weights(self, handler: Any) -> dict[str, Any]:
        # The dump is the checkpoint key and config hash. device and channels_last only say where
        # and in which memory layout the same computation runs, and mixed_precision "off" is how
        # every recipe trained before these fields existed: leaving them out keeps those keys.
        data = handler(self)
        data.pop("device", None)
        data.pop("channels_last", None)
        if self.mixed_precision == "off":
            data.pop("mixed_precision", None)
        return data


class BoundSpec(StrictModel):
    """Per-layer lower bounds of one-shot-improved (seeds 000/001): no layer is emptied."""

    linear: float = field(0.005, description="Least density kept in each fully-connected layer", unit="1", ge=0, le=1)
    conv: float = field(0.012, description="Least density kept in each convolution layer", unit="1", ge=0, le=1)
    rule: Literal["fixed", "adaptive"] = field(
        "fixed",
        description=(
            "fixed: the densities above; adaptive: additionally keep each output unit's largest "
            "weight, so no output channel or neuron is cut off"
        ),
        unit="text",
    )


class SslSpec(StrictModel):
    """Structured sparsity learning (seed 001 eq. 2): group lasso on filters and channels."""

    filter_decay: float = field(
        1e-4, description="Group-lasso weight on output filters (conv) / neurons (linear)", unit="1", ge=0
    )
    channel_decay: float = field(
        1e-4, description="Group-lasso weight on input channels (conv) / inputs (linear)", unit="1", ge=0
    )
    epochs: StrictInt = field(10, description="Training epochs with the regulariser", unit="epoch", ge=1, le=10000)
    threshold: float = field(
        1e-3, description="Groups whose L2 norm per weight falls below this are removed", unit="1", gt=0
    )


class HppSpec(StrictModel):
    """Hierarchical progressive pruning (seed 003 IV.C, Algorithm 1): blocks of similar-size layers
    pruned at rising ratios while the mean accuracy under stuck-at faults holds; the smallest block
    leaves the search whenever it does not. See simulator/pruning/progressive.py."""

    ratio_step: float = field(
        0.1, description="Candidate pruning ratios (Algorithm 1 R_range): ratio_step, 2 ratio_step, ... "
        "up to 1 - prune.density, the last exactly that",
        unit="1", gt=0, lt=1,
    )
    threshold: float = field(
        0.005, description="th of Algorithm 1 line 16: largest accepted fall of the mean accuracy under faults "
        "from the current model to a candidate",
        unit="1 (accuracy, 0.01 = 1 point)", ge=0, le=1,
    )
    blocks: Literal["channels", "layer"] = field(
        "channels", description="Blocks of layers (seed 003 IV.C 'layers with 64 channels'): channels groups "
        "layers with the same number of output channels / units, layer makes one block per layer; "
        "smallest block first",
        unit="text",
    )
    fault_rate: float = field(
        1e-3, description="Total cell fault rate p_sa0 + p_sa1 of the objective", unit="1", ge=0, le=1
    )
    fault_mix: RatioPreset = field(
        "seed003", description="Split of fault_rate (a named fault ratio): seed003 stuck-off : stuck-on = "
        "1 : 5.2 (seed 003 V.A), or one kind alone (stuck-off: seed 003 Fig. 3)",
        unit="text",
    )
    encoding: Encoding = field("two-column", description="Sign encoding of the objective's crossbars", unit="text")
    draws: StrictInt = field(
        10, description="Fault draws averaged per evaluation (Algorithm 1 lines 11-15; seed 003 averages 100)",
        unit="draws", ge=1, le=10000,
    )
    eval_samples: StrictInt | None = field(
        2000, description="Training images (seeded random subset) the objective is measured on, so the test set "
        "never steers the search; null: all",
        unit="images", ge=1,
    )
    result: Literal["best", "last"] = field(
        "best", description="best: the most accurate model under faults of the search (Algorithm 1 line 28, "
        "M_best); last: the last accepted one (M_cur), the sparsest whose every step stayed within threshold",
        unit="text",
    )


class PruneSpec(StrictModel):
    """How the trained network is made sparse (seeds 000/001/003)."""

    method: Literal["one-shot", "one-shot-improved", "imp", "layerwise", "ssl", "hpp"] = field(
        description="Pruning method", unit="text"
    )
    density: float = field(
        description="Target global density (nonzeros / weights of all Conv2d and Linear layers)", unit="1", gt=0, le=1
    )
    finetune_epochs: StrictInt = field(
        5, description="Fine-tuning epochs after pruning (one-shot, one-shot-improved, layerwise, ssl; "
        "hpp: after every candidate)", unit="epoch", ge=0, le=10000,
    )
    finetune_lr: float | None = field(
        None, description="Learning rate of fine-tuning; default: train.lr / 10", unit="1", gt=0, le=10
    )
    rate: float = field(0.2, description="imp: share of the remaining weights pruned per round", unit="1", gt=0, lt=1)
    round_epochs: StrictInt | None = field(
        None, description="imp: training epochs per round; default: train.epochs", unit="epoch", ge=1, le=10000
    )
    rewind_iteration: StrictInt = field(
        0, description="imp: rewind survivors to their values after this many training iterations "
        "(0: initial values; >0: late rewinding)", unit="iteration", ge=0, le=10**9,
    )
    reinit: StrictBool = field(
        False, description="imp control: re-initialise survivors randomly instead of rewinding", unit="flag"
    )
    bounds: BoundSpec = field(default_factory=BoundSpec, description="one-shot-improved lower bounds", unit="block")
    ssl: SslSpec = field(default_factory=SslSpec, description="ssl settings", unit="block")
    hpp: HppSpec = field(default_factory=HppSpec, description="hpp settings", unit="block")

    @model_validator(mode="after")
    def _hpp_prunes_something(self) -> PruneSpec:
        if self.method == "hpp" and self.density >= 1:
            raise ValueError("method 'hpp' searches pruning ratios up to 1 - density, "
                             f"so density must be < 1 (got {self.density})")
        return self


class CrossbarSpec(StrictModel):
    """Crossbar size N (the seeds' word): N rows x N weight columns of a weight matrix."""

    size: StrictInt | None = field(
        None,
        description="Crossbar size N (rows = columns); default: the hardware array's rows",
        unit="cells",
        ge=8,
        le=256,
    )


class CrossbarPruneSpec(StrictModel):
    """Crossbar-grained pruning (seed 004 IV): remove the crossbar rows of lowest L1 saliency,
    fine-tune, repeat until a crossbar target, an accuracy floor or the step limit."""

    step_fraction: float = field(0.05, description="Share of crossbar rows removed per step", unit="1", gt=0, le=1)
    max_steps: StrictInt = field(5, description="Most pruning-finetuning steps", unit="step", ge=1, le=1000)
    target_tiles: StrictInt | None = field(
        None, description="Stop once the network places at most this many tiles", unit="tiles", ge=1, le=10**9
    )
    accuracy_floor: float | None = field(
        None, description="Undo the step that takes test accuracy below this and stop", unit="1", gt=0, le=1
    )
    finetune_epochs: StrictInt = field(1, description="Fine-tuning epochs after each step", unit="epoch", ge=0,
                                       le=10000)
    finetune_lr: float | None = field(
        None, description="Fine-tuning learning rate; default: train.lr / 10", unit="1", gt=0, le=10
    )


class MappingSpec(StrictModel):
    """How weight matrices become crossbars (design.md, stage 4)."""

    crossbar: CrossbarSpec = field(default_factory=CrossbarSpec, description="Crossbar size", unit="block")
    weight_bits: StrictInt = field(
        8, description="Weight precision after quantization, sign included", unit="bit", ge=1, le=16
    )
    per_column_scale: StrictBool = field(
        False, description="Quantize with one scale per output column instead of one per layer", unit="flag"
    )
    cell_bits: StrictInt | None = field(
        None, description="Bits per cell; default: the hardware array's cell_bits", unit="bit", ge=1, le=8
    )
    encoding: Encoding = field(
        "two-column", description="Sign encoding (seed 003 IV.D)", unit="text"
    )
    crossbar_prune: CrossbarPruneSpec | None = field(
        None, description="Crossbar-grained pruning after mapping; absent: none", unit="block"
    )
    reorder: Literal[STRATEGY_NAMES] = field(  # type: ignore[valid-type]
        "skip-empty",
        description=(
            "Tiling strategy: none (dense grid, every crossbar), skip-empty (dense grid, empty crossbars "
            "dropped), compact (seed 001's 3 steps), kmeans (seed 004 Alg. 1), rcm, graph (seed 001), "
            "best (fewest crossbars of all)"
        ),
        unit="text",
    )

    @field_validator("cell_bits")
    @classmethod
    def _cell_fits_weight(cls, value: int | None, info: ValidationInfo) -> int | None:
        weight_bits = info.data.get("weight_bits")     # validated before: declared above
        if value is not None and isinstance(weight_bits, int) and value > weight_bits:
            raise ValueError(f"wider than mapping.weight_bits {weight_bits}: a cell would hold bits no weight has; "
                             "give cell_bits <= weight_bits")
        return value

    def narrower_than_cells(self, hardware: HardwareConfig) -> str | None:
        """Why these weights do not fit `hardware`'s cells when cell_bits is left to the array
        (its cells wider than the weights), or None."""
        if self.cell_bits is None and hardware.array.cell_bits > self.weight_bits:
            return (f"{self.weight_bits} bits are narrower than the array.cell_bits "
                    f"{hardware.array.cell_bits} of {hardware.name}: a cell would hold bits no weight has; give "
                    f"mapping.cell_bits <= {self.weight_bits}, or more weight bits")
        return None

    def cell_bits_on(self, hardware: HardwareConfig) -> int:
        """Bits per cell on `hardware`: this mapping's cell_bits, else the array's. The one place
        this default is resolved (the workload's chip, the dense baseline chip, a size sweep)."""
        return self.cell_bits if self.cell_bits is not None else hardware.array.cell_bits


class HardwareStudySpec(StrictModel):
    """What the hardware stage compares the workload's mapping with (seed 004 Sec. VI)."""

    compare_dense: bool = field(
        True, description="Also run the dense mapping (reorder none) on the same chip and report the sparse "
                          "mapping's energy efficiency and speed-up over it", unit="bool")
    baseline: str | None = field(
        None, description="Hardware file of a dense baseline chip (seed 004 compares with dense PRIME), relative "
                          "to this workload, or a shipped design's name (prime); mapped with reorder none at its "
                          "own array size", unit="path")
    images: StrictInt | None = field(
        None, description="Images simulated; default 1 (layer-sequential) or 3 (pipelined, to measure the interval)",
        unit="images", ge=1, le=1000)
    sizing: Literal["fixed", "fit", "iso-area"] = field(
        "fit", description=(
            "How many tiles each chip of the study has, the same rule for the workload's chip and every "
            "comparison: fixed, the tiles its hardware file declares; fit, the fewest tiles that hold one copy of "
            "every layer plus replica_budget more arrays; iso-area, the workload's chip and the dense mapping on "
            "it get the area of the baseline chip (sized by fit), so arrays the sparse mapping saves hold "
            "replicas"), unit="text")
    replica_budget: float = field(
        0.0, description="fit and the baseline of iso-area: arrays added for replicas of the slowest layers, as a "
                         "share of the arrays one copy of every layer needs", unit="1", ge=0, le=100)
    replicate: StrictBool = field(
        True, description="Fill arrays the mapping leaves free with replicas of the slowest layers (every chip of "
                          "the study alike); the hardware file's chip.replicate is not read by this model",
        unit="bool")
    execution: Literal["file", "layer-sequential", "pipelined"] = field(
        "file", description="file: each chip as its hardware file says (chip.execution); otherwise every chip of "
                            "the study runs this way", unit="text")
    dac_activity: Literal["full", "measured"] = field(
        "full", description=(
            "full: every placed row is driven in every input phase; measured: a row is driven only in the phases "
            "whose input digit is not 0, the share measured per layer from the network's activations on the first "
            "activity_images test images (loads the network and the data set even with --no-accuracy)"),
        unit="text")
    activity_images: StrictInt = field(
        64, description="dac_activity measured: test images whose activations give the activity", unit="images",
        ge=1, le=10000)
    sensitivity: StrictBool = field(
        False, description="Vary every assumption of the chips' hardware files that lists alternatives, one at a "
                           "time, and report how the headline ratios move (simulator.hardware.sensitivity; resim run "
                           "--sensitivity / --no-sensitivity overrides it)", unit="bool")

    @model_serializer(mode="wrap")
    def _dump_without_sensitivity_off(self, handler: Any) -> dict[str, Any]:
        # The dump enters the config hash: off (every workload written before this key) is left
        # out, so their hashes and result folders stay.
        data = handler(self)
        if not self.sensitivity:
            data.pop("sensitivity", None)
        return data

    @model_validator(mode="after")
    def _iso_area_needs_a_baseline(self) -> HardwareStudySpec:
        if self.sizing == "iso-area" and self.baseline is None:
            raise ValueError("sizing iso-area gives the workload's chip the baseline chip's area: name a baseline")
        return self

    @field_validator("baseline")
    @classmethod
    def _baseline_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _check_reference("hardware", value, info)
        return value


class WorkloadConfig(StrictModel):
    """A workload file (workloads/*.yaml)."""

    name: str = field(
        description="Workload name (used in result folder, cache and checkpoint names, so at most 200 characters: "
                    "file systems allow 255 per name)", unit="text", pattern=r"^[A-Za-z0-9_.-]+$", max_length=NAME_MAX)
    description: str = field("", description="What this workload studies", unit="text")
    seed: StrictInt = field(0, description="Seed of every random choice", unit="1", ge=0, le=2**32 - 1)
    hardware: str = field(description="Hardware description file, relative to this workload, or a shipped design's "
                                      "name (prime, isaac, sparse_small; `resim list`)", unit="path")
    model: ModelSpec = field(description="The network", unit="block")
    data: DataSpec = field(description="The data set", unit="block")
    train: TrainSpec = field(default_factory=TrainSpec, description="Training recipe", unit="block")
    prune: PruneSpec | None = field(None, description="Pruning; absent: the dense network", unit="block")
    mapping: MappingSpec = field(default_factory=MappingSpec, description="Crossbar mapping", unit="block")
    faults: FaultSpec | None = field(None, description="Stuck-at fault study; absent: none", unit="block")
    hardware_study: HardwareStudySpec = field(
        default_factory=HardwareStudySpec, description="Energy, latency and area comparisons", unit="block")

    @field_validator("hardware")
    @classmethod
    def _hardware_exists(cls, value: str, info: ValidationInfo) -> str:
        _check_reference("hardware", value, info)
        return value
