"""The stuck-at fault model and the fault study, defined once (issue #13).

`FaultModel` is what decides which cells and lines fail beyond one total rate; `FaultSpec` adds
what a study draws (rates, encodings, runs, slice) and is a workload's `faults:` section. The same
classes are the `resim faults` flags (each field names its flag; `FaultSpec.from_flags` parses
their text), the options of the Monte-Carlo study (simulator.faults.montecarlo) and hpp's
objective (`prune.hpp.fault_mix` is a named `ratio`). A new fault option is one field here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import StrictBool, StrictInt, ValidationError, field_validator

from simulator.config.fields import StrictModel, field, flag_of
from simulator.mapping.encoding import ENCODING_NAMES

Encoding = Literal[ENCODING_NAMES]  # type: ignore[valid-type]

# Seed 003 (sections I and III, citing its ref. [9]): stuck-on faults are 5.2x as frequent as
# stuck-off ones, so the default split of a total rate is stuck-off : stuck-on = 1 : 5.2.
SEED_003_RATIO: tuple[float, float] = (1.0, 5.2)

# Named splits (stuck-off : stuck-on) a `ratio` may be given as: seed 003 V.A's 1 : 5.2, or one
# kind alone (stuck-off: seed 003 Fig. 3; stuck-on: seed 001's stuck-at-1 study).
RatioPreset = Literal["seed003", "stuck-off", "stuck-on"]
RATIO_PRESETS: dict[str, tuple[float, float]] = {
    "seed003": SEED_003_RATIO, "stuck-off": (1.0, 0.0), "stuck-on": (0.0, 1.0)}

DEFAULT_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


class FaultOptionError(ValueError):
    """A fault option that does not fit the network or the chip; ``key`` names the option
    (the field of `FaultModel`), ``value`` what was given."""

    def __init__(self, key: str, message: str, value: Any):
        self.key, self.value = key, value
        super().__init__(message)


class UnknownLayerError(FaultOptionError):
    """A fault option (``key``: layers or only_layers) names a layer the network does not have."""

    def __init__(self, key: str, name: str, allowed: list[str]):
        self.name, self.allowed = name, list(allowed)
        super().__init__(key, f"unknown layer {name!r}; allowed: {', '.join(allowed)}", name)


class FaultModel(StrictModel):
    """Stuck-at faults beyond one total rate: the stuck-off : stuck-on split, per-layer rate
    multipliers and whole stuck lines. The defaults are seed 003's plain model."""

    ratio: tuple[float, float] = field(
        SEED_003_RATIO, description="Split of every fault rate, stuck-off : stuck-on (seed 003: 1 : 5.2; [0, 1]: "
        "stuck-on only, seed 001's stuck-at-1; [1, 0]: stuck-off only); also seed003, stuck-off or stuck-on",
        unit="1", flag="--ratio",
    )
    layers: dict[str, float] | None = field(
        None, description="Fault-rate multiplier per layer, cells and lines (e.g. {conv1: 2.0, fc1: 0}); layers not "
        "listed keep 1; names are checked against the network when it is built", unit="1", flag="--layers",
    )
    only_layers: list[str] | None = field(
        None, description="Only these layers get faults, the others none (seed 001: one layer at a time); "
        "combines with layers", unit="text", min_length=1, flag="--only-layers",
    )
    stuck_rows_rate: float = field(
        0.0, description="Probability that a whole wordline (row) of a physical array is stuck, every cell on it "
        "at one level (split by ratio)", unit="1 (per wordline)", ge=0, le=1, flag="--stuck-rows",
    )
    stuck_cols_rate: float = field(
        0.0, description="Probability that a whole bitline (column) of a physical array is stuck, every cell on it "
        "at one level (split by ratio)", unit="1 (per bitline)", ge=0, le=1, flag="--stuck-cols",
    )

    # The device model (issue #24): the hardware file's `device:` block (simulator.device) beside
    # the stuck-at faults. At these defaults every draw is the stuck-at draw it was.
    variation_scale: float = field(
        0.0, description="Programming spread of every healthy cell: the hardware file's state-dependent "
        "device.programming_sigma_by_power times this (1: the measured spread; 0: none)",
        unit="1 (x the file's sigma)", ge=0, le=100, flag="--variation-scale",
    )
    read_noise: StrictBool = field(
        False, description="Read noise: every cell read once per draw with the hardware file's "
        "device.read_noise_sigma", unit="flag", flag="--read-noise/--no-read-noise",
    )
    time_since_programming_s: float = field(
        0.0, description="Time between programming and reading: conductance drift (device.drift_nu) and "
        "relaxation (device.relaxation_sigma_by_power or relaxation_nu) after device.drift_t0_s; 0: read at once",
        unit="s", ge=0, le=1e10,
        flag="--time-since-programming",
    )
    ir_drop: StrictBool = field(
        False, description="IR drop along the wordlines and bitlines of every placed array (simulator.ir_drop's "
        "fast model, line resistance per cell from the hardware file): larger crossbars lose more",
        unit="flag", flag="--ir-drop/--no-ir-drop",
    )

    @property
    def device_effects(self) -> bool:
        """Whether any effect of the device model is on (then the hardware needs a device: block)."""
        return self.variation_scale > 0 or self.read_noise or self.time_since_programming_s > 0 or self.ir_drop

    @field_validator("ratio", mode="before")
    @classmethod
    def _named_ratio(cls, value: Any) -> Any:
        return RATIO_PRESETS.get(value, value) if isinstance(value, str) else value

    @field_validator("ratio")
    @classmethod
    def _ratio_splits(cls, value: tuple[float, float]) -> tuple[float, float]:
        if min(value) < 0 or sum(value) <= 0 or not all(math.isfinite(v) for v in value):
            raise ValueError(f"ratio must be two finite numbers >= 0, not both 0, got {list(value)}")
        return value

    @field_validator("layers")
    @classmethod
    def _multipliers_non_negative(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        bad = {name: m for name, m in (value or {}).items() if not (math.isfinite(m) and m >= 0)}
        if bad:
            raise ValueError(f"rate multipliers must be finite numbers >= 0, got {bad}")
        return value

    def fault_model(self) -> FaultModel:
        """The fault model alone (a `FaultSpec` without what its study draws)."""
        return FaultModel(**{name: getattr(self, name) for name in FaultModel.model_fields})

    def check_chip(self, packing: str) -> None:
        """Stuck wordlines are drawn per (polarity, slice) array; with ``adjacent-columns``
        packing one wordline crosses several of them, which this model does not place."""
        if self.stuck_rows_rate > 0 and packing != "across-arrays":
            raise FaultOptionError(
                "stuck_rows_rate", f"stuck wordlines are modelled for array packing 'across-arrays' only "
                f"(each polarity and bit slice in its own array); the hardware packs '{packing}'",
                self.stuck_rows_rate)

    def multipliers(self, names: list[str]) -> dict[str, float]:
        """Rate multiplier of every layer in ``names``; an option naming another layer raises
        `UnknownLayerError`."""
        for key, given in (("layers", self.layers or {}), ("only_layers", self.only_layers or ())):
            for name in given:
                if name not in names:
                    raise UnknownLayerError(key, name, names)
        layers = self.layers or {}
        return {name: (0.0 if self.only_layers is not None and name not in self.only_layers else 1.0)
                * float(layers.get(name, 1.0)) for name in names}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record of the fault model (for result files)."""
        return self.fault_model().model_dump(mode="json")


class FaultDraws(StrictModel):
    """What a fault study draws: the rates, encodings, draws per point and the slice."""

    rates: list[float] = field(
        default_factory=lambda: list(DEFAULT_RATES),
        description="Total cell fault rates p_sa0 + p_sa1, split stuck-off : stuck-on by ratio (seed 003: 1 : 5.2)",
        unit="1", min_length=1, flag="--rates",
    )
    encodings: list[Encoding] | None = field(
        None, description="Sign encodings compared; default: mapping.encoding (resim faults: all of them)",
        unit="text", min_length=1, flag="--encodings",
    )
    runs: StrictInt = field(100, description="Fault draws per point (seed 003 averages 100)", unit="draws", ge=1,
                            le=100000, flag="--runs")
    slice_index: StrictInt | None = field(
        None, description="Confine faults to this bit slice (0 = least significant; seed 001's bit-position study)",
        unit="1", ge=0, le=15, flag="--slice",
    )

    @field_validator("rates")
    @classmethod
    def _rates_in_range(cls, value: list[float]) -> list[float]:
        bad = [r for r in value if not 0 <= r <= 1]
        if bad:
            raise ValueError(f"fault rates must lie in [0, 1], got {bad}")
        return value


class FaultSpec(FaultModel, FaultDraws):
    """Stuck-at fault study (seed 003): accuracy over Monte-Carlo fault draws per rate and
    encoding, under the fault model of its other keys."""

    bit_true: StrictBool = field(
        False, description="Also evaluate every draw bit-true through the crossbars: inputs at the hardware's "
        "input_bits in DAC phases, each converted column through the ADC (simulator/faults/bit_true.py); "
        "reports the ADC-induced accuracy loss. Slow: for small networks or few test images", unit="flag",
        flag="--bit-true",
    )

    @classmethod
    def flags(cls) -> dict[str, str]:
        """Field name -> its command-line option, for every field that has one."""
        return {name: flag for name in cls.model_fields if (flag := flag_of(cls, name)) is not None}

    @classmethod
    def from_flags(cls, given: dict[str, Any]) -> FaultSpec:
        """The spec of the options given on the command line (field name -> the option's text, or
        True for a flag); fields not given keep their defaults. A bad value raises
        `FaultOptionError` naming its field."""
        values = {name: _from_text(name, cls.model_fields[name].annotation, text) for name, text in given.items()}
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else next(iter(given), "")
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "literal_error":
                allowed = str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
                message = f"{error['input']!r} is not allowed; allowed: {allowed}"
            raise FaultOptionError(name, message, given.get(name)) from None


def _from_text(name: str, annotation: Any, text: Any) -> Any:
    """A field's value from its command-line text, by the field's type: lists and mappings are
    comma-separated (``conv1=2,fc1=0``), a pair is ``A:B`` (or a preset name)."""
    if not isinstance(text, str):
        return text
    kind = _unoptional(annotation)
    origin = get_origin(kind)
    items = [part.strip() for part in text.split(",") if part.strip()]
    if origin is tuple:
        if text in RATIO_PRESETS:
            return text
        try:
            pair = tuple(float(x) for x in text.split(":"))
        except ValueError:
            pair = ()
        if len(pair) != 2:
            raise FaultOptionError(name, f"{text!r} is not OFF:ON, two numbers >= 0, not both 0 (e.g. 1:5.2 or "
                                   f"0:1, or one of {', '.join(RATIO_PRESETS)})", text)
        return pair
    if origin is dict:
        out = {}
        for item in items:
            key, _, value = item.partition("=")
            try:
                out[key.strip()] = float(value)
            except ValueError:
                raise FaultOptionError(name, f"{item!r} is not LAYER=MULTIPLIER (e.g. conv1=2,fc1=0)", item) from None
        return out
    if origin is list:
        (element,) = get_args(kind)
        if element is float:
            try:
                return [float(item) for item in items]
            except ValueError:
                raise FaultOptionError(name, f"{text!r} is not a comma-separated list of numbers", text) from None
        return items
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise FaultOptionError(name, f"{text!r} is not a whole number", text) from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise FaultOptionError(name, f"{text!r} is not a number", text) from None
    return text


def _unoptional(annotation: Any) -> Any:
    """`X` of `X | None` and of `Annotated[X, ...]` (StrictInt)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is not None and type(None) in get_args(annotation) and len(args) == 1:
        annotation = args[0]
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation
