"""ISAAC's and PRIME's published figures beside the chip model's (issue #15 item 1; the figures
behind docs/validation.md; tests/test_validation.py asserts them).

    python bench/peers/published_chips.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.config.loader import load_hardware
from simulator.hardware.chip import chip_spec
from simulator.hardware.published_chips import (
    PRIME_STAND_INS,
    isaac_comparisons,
    isaac_peak,
    mat_area_shares,
    peak_ops_per_ns,
    prime_comparisons,
)

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    isaac_hw = load_hardware(REPO / "hwconfigs" / "isaac.yaml")
    isaac = chip_spec(isaac_hw, isaac_hw.array.rows)
    rows = [{"quantity": c.quantity, "published": c.published, "resim": c.model, "resim / published": c.ratio,
             "source": c.source} for c in isaac_comparisons(isaac)]
    print("ISAAC (hwconfigs/isaac.yaml at 128x128, 168 tiles; full-activity power and area):\n")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g"))
    power = ", ".join(f"{k} {v / 1e3:.4g}" for k, v in isaac.full_activity_power_mw().items() if v)
    print(f"\nFull-activity power of the 168 tiles by component (W): {power}")
    print("Peak: " + ", ".join(f"{k} {v:.4g}" for k, v in isaac_peak(isaac).items()))

    prime_hw = load_hardware(REPO / "hwconfigs" / "prime.yaml")
    prime = chip_spec(prime_hw, prime_hw.array.rows)
    rows = [{"quantity": c.quantity, "published": c.published, "resim": c.model, "source": c.source}
            for c in prime_comparisons(prime, encoding="two-column", weight_bits=8, packing=prime_hw.array.packing,
                                       polarity=prime_hw.composition.polarity, r_on_ohm=prime_hw.array.r_on_ohm,
                                       r_off_ohm=prime_hw.array.r_off_ohm)]
    print("\nPRIME (hwconfigs/prime.yaml at 256x256), what it publishes:\n")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g"))
    print("\nPRIME, what it does not publish and what stands in:\n")
    print(pd.DataFrame(PRIME_STAND_INS, columns=["quantity", "PRIME", "resim (prime.yaml)"]).to_markdown(index=False))
    shares = mat_area_shares(prime)
    print("\nOne PRIME mat and its periphery in resim, share of area: "
          + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
    gops = peak_ops_per_ns(prime, cells_per_weight=2, polarities=2)
    watts = sum(prime.full_activity_power_mw().values()) / 1e3
    mm2 = prime.chip_area_um2 / 1e6
    print(f"resim's PRIME chip (128 tiles of 64 mats; 6-bit x 8-bit operations): {gops / 1e3:.4g} TOPS peak, "
          f"{watts:.4g} W, {mm2:.4g} mm^2 -> {gops / watts / 1e3:.4g} TOPS/W, {gops / mm2 / 1e3:.4g} TOPS/mm^2 "
          "(PRIME publishes none of these)")


if __name__ == "__main__":
    main()
