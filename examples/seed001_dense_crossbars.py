"""Seed 001's "Total" crossbar column for VGG19 on CIFAR-10, from resim's lowering.

Seed 001 (VGG19-CIFAR10 tables at crossbar size 128, 64 and 8) lists the crossbars a dense mapping
needs per layer. This script lowers resim's zoo VGG19 (3x32x32 input,
10 classes) to its (R, C) weight matrices and counts ceil(R/N) * ceil(C/N) per layer, printing the
seed's column beside ours. Every layer agrees. The seed's printed sum rows (1249, 4983, 31891)
are not the sums of its own columns (1252, 4988, 319008); we compare per layer.

    python examples/seed001_dense_crossbars.py
"""

from __future__ import annotations

import pandas as pd

from simulator.lowering.layers import lower_network
from simulator.mapping.bounds import dense_tiles
from simulator.network.zoo import build_zoo_model

# Seed 001, "Crossbar. size 128*128 / 64*64 / 8*8", column "Total", Layer1..Layer19.
SEED_001_TOTALS = {
    128: [1, 5, 5, 9, 18, 36, 36, 36, 72, 144, 144, 144, 144, 144, 144, 144, 16, 8, 2],
    64: [1, 9, 18, 36, 72, 144, 144, 144, 288, 576, 576, 576, 576, 576, 576, 576, 64, 32, 4],
    8: [32, 576, 1152, 2304, 4608, 9216, 9216, 9216, 18432, 36864, 36864, 36864, 36864, 36864,
        36864, 36864, 4096, 2048, 64],
}


def dense_crossbars(size: int) -> pd.DataFrame:
    """Per layer of VGG19: resim's dense tile count and seed 001's."""
    layers = lower_network(build_zoo_model("vgg19", in_channels=3, num_classes=10, input_size=32), (3, 32, 32))
    return pd.DataFrame({
        "layer": [layer.name for layer in layers],
        "(R, C)": [(layer.rows, layer.cols) for layer in layers],
        "resim": [dense_tiles(layer.rows, layer.cols, size) for layer in layers],
        "seed 001": SEED_001_TOTALS[size],
    })


def main() -> None:
    for size in (128, 64, 8):
        table = dense_crossbars(size)
        print(f"\nVGG19, crossbar {size}x{size}: resim {table['resim'].sum()} dense crossbars, "
              f"seed 001's column sums to {table['seed 001'].sum()}")
        print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
