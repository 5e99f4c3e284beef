"""Hardware description: the structure of a PRIME-like chip, every number with its source.

Each block carries a `source` mapping from its field names to a citation (paper and table, or the
derivation). The loader rejects a number without a source, so a reader finds where any figure
comes from in one step.
"""

from __future__ import annotations

from typing import Literal

from pydantic import StrictInt, model_validator

from simulator.config.fields import StrictModel, field

SOURCE_DESCRIPTION = (
    "Citation of every number in this block: field name -> paper and table, or the derivation"
)


class SourcedBlock(StrictModel):
    """A block whose numeric fields must each be cited in `source`."""

    source: dict[str, str] = field(
        default_factory=dict, description=SOURCE_DESCRIPTION, unit="text"
    )

    def numeric_fields(self) -> list[str]:
        """Names of fields holding a number (the ones that need a source)."""
        return [
            name
            for name in type(self).model_fields
            if name != "source"
            and isinstance(getattr(self, name), (int, float))
            and not isinstance(getattr(self, name), bool)
        ]


class ArrayConfig(SourcedBlock):
    """One ReRAM crossbar array."""

    rows: StrictInt = field(description="Wordlines per array (inputs)", unit="1", ge=8, le=1024)
    cols: StrictInt = field(description="Bitlines per array (outputs)", unit="1", ge=8, le=1024)
    cell_bits: StrictInt = field(
        description="Bits stored per ReRAM cell (levels = 2**cell_bits)", unit="bit", ge=1, le=8
    )
    r_on_ohm: float = field(description="Low-resistance state (level L)", unit="ohm", gt=0)
    r_off_ohm: float = field(description="High-resistance state (level 0)", unit="ohm", gt=0)
    packing: Literal["across-arrays", "adjacent-columns"] = field(
        "across-arrays",
        description=(
            "Where a weight's polarities and bit slices go: each in its own array (PRIME keeps "
            "positive and negative weights in separate arrays), or side by side in adjacent "
            "columns of one array (seed 004's composition tree reads the slices of one crossbar)"
        ),
        unit="text",
    )

    @model_validator(mode="after")
    def _off_above_on(self) -> "ArrayConfig":
        if self.r_off_ohm <= self.r_on_ohm:
            raise ValueError(
                f"r_off_ohm ({self.r_off_ohm}) must exceed r_on_ohm ({self.r_on_ohm})"
            )
        return self


class DacConfig(SourcedBlock):
    """Wordline driver: inputs enter bit-serially, dac.bits per phase."""

    bits: StrictInt = field(description="Input bits applied per phase", unit="bit", ge=1, le=8)


class AdcConfig(SourcedBlock):
    """Column sensing: one ADC shared by columns_per_adc bitlines."""

    bits: StrictInt = field(description="ADC resolution", unit="bit", ge=1, le=16)
    columns_per_adc: StrictInt = field(
        description="Bitlines that share one ADC (converted in turn)", unit="1", ge=1, le=1024
    )


class TileConfig(SourcedBlock):
    """A tile: arrays with their peripherals and a local buffer."""

    arrays: StrictInt = field(description="Crossbar arrays per tile", unit="1", ge=1, le=65536)


class ChipConfig(SourcedBlock):
    """The chip: tiles connected by a bus or network."""

    tiles: StrictInt = field(description="Tiles per chip", unit="1", ge=1, le=1_000_000)


class HardwareConfig(SourcedBlock):
    """A hardware description file (hwconfigs/*.yaml)."""

    name: str = field(description="Short name of the design", unit="text", min_length=1)
    description: str = field("", description="What this design is and where it comes from", unit="text")
    technology_nm: StrictInt = field(description="CMOS technology node", unit="nm", ge=1, le=1000)
    cycle_ns: float = field(description="Crossbar read cycle", unit="ns", gt=0)
    input_bits: StrictInt = field(
        description="Activation precision fed to the arrays", unit="bit", ge=1, le=32
    )
    array: ArrayConfig = field(description="The ReRAM crossbar array", unit="block")
    dac: DacConfig = field(description="Input drivers", unit="block")
    adc: AdcConfig = field(description="Column converters", unit="block")
    tile: TileConfig = field(description="Tile organisation", unit="block")
    chip: ChipConfig = field(description="Chip organisation", unit="block")
