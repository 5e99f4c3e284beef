"""Per-image time of NeuroSim's VGG8 under stuck-at faults: weight level and bit-true (issue #6).

    OMP_NUM_THREADS=2 python bench/bench_faults_vgg8.py --data-dir ../shared/data --threads 2

Targets (issue #6, on 2 cores): weight level < 25 ms per image, bit-true ADC emulation
< 250 ms per image. For scale, the issue quotes IBM aihwkit at about 250 ms per image for this
VGG8 with ReRAM noise and MemTorch at about 1 s per image after a 3-minute set-up.

The network: the zoo's `vgg8` (DNN+NeuroSim's VGG8, CIFAR-10 32x32) at its seeded initial
weights, every layer magnitude-pruned to `--density` (layerwise, so no layer empties; accuracy
is meaningless, only the work matters), mapped once on `--size` x `--size` tiles by `--strategy`.
The images are the first CIFAR-10 test images.

The bit-true figures carry a signal only where the converter passes one: at PRIME's full ADC range
(the shipped `adc.range_fraction: 1`) this network's sums round to code 0 after the first layer;
`--range-fraction 0.015625` passes a signal. The script prints the bit-true logits' correlation
with the float network's.

One fault draw at `--rate` (stuck-off : stuck-on = 1 : 5.2) per repetition, amortised over a batch:

- weight level: the effective weights of every layer drawn (`montecarlo.faulty_weights`), copied
  into the network, and `--images` test images evaluated; time / images;
- bit-true: the faulty cell levels of every tile drawn (`effective.faulty_levels`), laid out for
  the crossbars (`bit_true.compile_matrix`), and `--bit-true-images` images evaluated through the
  emulation (`bit_true.CrossbarLayer`, the hardware file's DAC, ADC and composition); time / images.

Prints one line per figure (median of `--repeat`), the machine load before and after, and the
tiles placed; copy them into bench/RESULTS.md with the command and machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def vgg8_pruned(density: float, seed: int):
    """VGG8 at its seeded initial weights, every layer magnitude-pruned to `density`."""
    import torch

    from simulator.network.zoo import build_zoo_model
    from simulator.pruning.magnitude import layerwise_magnitude
    from simulator.pruning.masks import apply_masks

    torch.manual_seed(seed)
    model = build_zoo_model("vgg8", in_channels=3, num_classes=10, input_size=32).eval()
    if density < 1:
        apply_masks(model, layerwise_magnitude(model, density))
    return model


def signal(outputs, reference) -> float:
    """The correlation of the bit-true `outputs` with the float network's `reference` logits: 0
    where the converter rounded every sum to code 0 (a constant output)."""
    import numpy as np

    out = outputs.flatten().numpy()
    return float(np.corrcoef(out, reference.flatten().numpy())[0, 1]) if out.std() > 0 else 0.0


def cifar_test_images(data_dir: Path, count: int):
    """The first `count` CIFAR-10 test images, normalised like training, and their labels."""
    from simulator.data.datasets import load_dataset
    from simulator.network.train import to_tensors

    arrays = load_dataset("cifar10", data_dir, train_samples=1, test_samples=count, download=False)
    tensors = to_tensors(arrays)
    return tensors.x_test, tensors.y_test


def weight_level_seconds(model, layers, x, y, args, rng_seed: int) -> tuple[float, float]:
    """(draw seconds, evaluation seconds) of one draw of effective weights evaluated on every
    image in `x`."""
    import copy

    import numpy as np
    import torch

    from simulator.faults.cells import FaultRates
    from simulator.faults.montecarlo import Draw, accuracy, faulty_weights

    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    started = time.perf_counter()
    weights = faulty_weights(layers, model, Draw(args.encoding, FaultRates.from_total(args.rate),
                                                 np.random.default_rng(rng_seed)))
    with torch.no_grad():
        for name, weight in weights.items():
            modules[name].weight.copy_(weight)
    drawn = time.perf_counter()
    accuracy(work, x, y, args.batch)
    return drawn - started, time.perf_counter() - drawn


def bit_true_seconds(model, layers, x, y, periphery, scales, args, rng_seed: int):
    """(draw + compile seconds, evaluation seconds, the outputs) of one bit-true draw over every
    image in `x`."""
    import numpy as np
    import torch

    from simulator.faults.bit_true import compile_matrix, crossbar_network
    from simulator.faults.cells import FaultRates
    from simulator.faults.effective import TileDraw, faulty_levels

    net = crossbar_network(model, scales, periphery)
    modules = dict(net.named_modules())
    rng = np.random.default_rng(rng_seed)
    draw = TileDraw(args.encoding, args.weight_bits, args.cell_bits, FaultRates.from_total(args.rate), rng)
    started = time.perf_counter()
    for layer in layers.layers:
        matrices, weight_scales = [], []
        for W, tiles in zip(layer.matrices, layer.tiles):
            quantized, levels = faulty_levels(W, tiles, draw)
            matrices.append(compile_matrix(W.shape, tiles, levels, args.encoding, args.weight_bits,
                                           args.cell_bits, periphery, args.size))
            weight_scales.append(quantized.scale)
        modules[layer.name].load(matrices, weight_scales)
    drawn = time.perf_counter()
    with torch.no_grad():
        outputs = [net(x[start:start + args.bit_true_batch]) for start in range(0, len(x), args.bit_true_batch)]
    return drawn - started, time.perf_counter() - drawn, torch.cat(outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--hardware", type=Path, default=REPO / "hwconfigs" / "prime.yaml")
    parser.add_argument("--density", type=float, default=0.1, help="layerwise density of every layer")
    parser.add_argument("--strategy", default="skip-empty", help="tiling strategy (mapping is not timed)")
    parser.add_argument("--size", type=int, default=None, help="crossbar size N (default: hardware array rows)")
    parser.add_argument("--encoding", default="two-column")
    parser.add_argument("--weight-bits", type=int, default=8)
    parser.add_argument("--cell-bits", type=int, default=None, help="default: the hardware's")
    parser.add_argument("--rate", type=float, default=1e-3, help="total cell fault rate")
    parser.add_argument("--images", type=int, default=1000, help="images per weight-level draw")
    parser.add_argument("--batch", type=int, default=250, help="weight-level evaluation batch")
    parser.add_argument("--bit-true-images", type=int, default=64, help="images per bit-true draw")
    parser.add_argument("--bit-true-batch", type=int, default=16, help="bit-true evaluation batch")
    parser.add_argument("--range-fraction", type=float, default=None,
                        help="the ADC's range fraction (default: the hardware file's); PRIME's 6-bit converter over "
                             "the full range rounds this network's sums to code 0 after its first layer, 1/64 "
                             "(0.015625) passes a signal (docs/faults.md)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from simulator.config.loader import load_hardware
    from simulator.faults.bit_true import (
        CALIBRATION_IMAGES,
        Periphery,
        calibrate_input_scales,
    )
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup

    torch.set_num_threads(args.threads)
    hardware = load_hardware(args.hardware)
    if args.range_fraction is not None:
        hardware = hardware.model_copy(
            update={"adc": hardware.adc.model_copy(update={"range_fraction": args.range_fraction})})
    args.size = args.size or hardware.array.rows
    args.cell_bits = args.cell_bits or hardware.array.cell_bits
    periphery = Periphery.from_hardware(hardware, args.size, args.cell_bits)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{args.threads} thread(s); load average before: {os.getloadavg()}")

    model = vgg8_pruned(args.density, args.seed)
    x, y = cifar_test_images(args.data_dir, max(args.images, args.bit_true_images, CALIBRATION_IMAGES))
    started = time.perf_counter()
    setup = MappingSetup(size=args.size, reorder=args.strategy, weight_bits=args.weight_bits, cell_bits=args.cell_bits,
                         encoding=args.encoding, per_column=False, seed=args.seed)
    layers = map_network(model, (3, 32, 32), setup)
    tiles = layers.tiles_placed
    print(f"VGG8, layerwise density {args.density}, {args.strategy} on {args.size}x{args.size}: {tiles} tiles "
          f"(mapping {time.perf_counter() - started:.1f} s, not timed below); {args.encoding}, "
          f"{args.weight_bits}-bit weights in {args.cell_bits}-bit cells, rate {args.rate:g}")
    print(f"periphery ({args.hardware.name}): {periphery}, {periphery.phases} phase(s)")

    runs = [weight_level_seconds(model, layers, x[:args.images], y[:args.images], args, args.seed + i)
            for i in range(args.repeat)]
    weight = [(d + e) / args.images for d, e in runs]
    print(f"weight level: {1000 * statistics.median(weight):.2f} ms per image "
          f"(one draw + {args.images} images, median of {args.repeat}: {[round(1000 * t, 2) for t in weight]}; "
          f"evaluation alone {1000 * statistics.median(e / args.images for _, e in runs):.2f} ms per image, "
          f"draw {statistics.median(d for d, _ in runs):.2f} s)")

    names = layers.names
    scales = calibrate_input_scales(model, names, x[:CALIBRATION_IMAGES], periphery.input_bits)
    xb, yb = x[:args.bit_true_images], y[:args.bit_true_images]
    runs = [bit_true_seconds(model, layers, xb, yb, periphery, scales, args, args.seed + i) for i in range(args.repeat)]
    per_image = [(d + e) / args.bit_true_images for d, e, _ in runs]
    evaluation = [e / args.bit_true_images for _, e, _ in runs]
    print(f"bit-true: {1000 * statistics.median(per_image):.1f} ms per image "
          f"(one draw + {args.bit_true_images} images, median of {args.repeat}; evaluation alone "
          f"{1000 * statistics.median(evaluation):.1f} ms per image, draw and layout "
          f"{statistics.median(d for d, _, _ in runs):.2f} s per draw)")
    with torch.no_grad():
        r = signal(runs[-1][2], model(xb))
    print(f"signal: the bit-true logits' correlation with the float network's r = {r:.3f} "
          f"(0: the converter rounds every sum to code 0; ADC range {hardware.adc.range_fraction:g})")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
