"""Accuracy under the device model against programming spread, time and crossbar size (issue #24,
docs/faults.md "The device model").

    python examples/device_accuracy.py workloads/lenet5_mnist_sparse_1.8.yaml --data-dir ../shared/data

Loads the workload's network once and runs `resim faults`' weight-level Monte-Carlo
(simulator.faults.montecarlo.fault_study, rate 0: no stuck cells) through the hardware file's
`device:` block at each point, on the first `--images` test images:

- against sigma: `variation_scale` in `--scales` at once after programming;
- against time: the measured spread (scale 1) read `--times` seconds after programming (the
  spread relaxes as the file's device block says: Wan's spread polynomial per time, or one
  exponent (t / t0)^nu_r; the mean drifts by (t / t0)^-nu_d);
- against N: the workload's mapping at every crossbar size in `--sizes`, with IR drop alone and
  with IR drop beside the measured spread (the line resistance per cell from the hardware file).

Prints one markdown table per study: mean accuracy and Student's t 95 % half width over `--runs`
draws (the quantized network without device effects once, as the reference).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any


def t_interval(values: list[float]) -> str:
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.2f} %"
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return f"{mean:.2f} +- {half:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--images", type=int, default=1000, help="first test images evaluated per draw")
    parser.add_argument("--runs", type=int, default=3, help="draws per point")
    parser.add_argument("--scales", default="0.5,1,2", help="variation scales (x the file's sigma)")
    parser.add_argument("--times", default="86400,2592000", help="seconds since programming, at scale 1")
    parser.add_argument("--sizes", default="", help="crossbar sizes N for IR drop (default: none)")
    args = parser.parse_args()

    import torch

    from simulator.config.faults import FaultSpec
    from simulator.config.loader import load_workload
    from simulator.data.load import load_data
    from simulator.device import resolve_device
    from simulator.faults.montecarlo import fault_study
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup
    from simulator.network.train import to_tensors
    from simulator.preparation import prepare_network

    torch.set_num_threads(1)
    workload = load_workload(args.workload)
    hardware = workload.hardware
    arrays = load_data(workload, args.data_dir)
    model = prepare_network(workload, arrays, train=False, progress=False).model.eval()
    tensors = to_tensors(arrays)
    x, y = tensors.x_test[:args.images], tensors.y_test[:args.images]
    shape = tuple(x.shape[1:])

    def mapped_at(size: int | None) -> Any:
        return map_network(model, shape, MappingSetup.of(workload, size=size))

    mapped = mapped_at(None)
    encoding = mapped.setup.encoding
    device = resolve_device(hardware, mapped.setup.cell_bits)

    def point(where: Any, runs: int, **options: Any) -> list[float]:
        spec = FaultSpec(rates=[0.0], encodings=[encoding], runs=runs, **options)
        draws = fault_study(model, where, x, y, spec, progress=False,
                            device=device if spec.device_effects else None, packing=hardware.array.packing)
        return [100.0 * float(a) for a in draws["accuracy"]]

    started = time.perf_counter()
    setup, cells = mapped.setup, device.conductances
    print(f"{workload.config.name}: {hardware.name}, N = {setup.size}, {setup.weight_bits}-bit weights in "
          f"{setup.cell_bits}-bit cells, {encoding}, {setup.reorder}; G_on {cells.g_on_us:g} uS, "
          f"G_off {cells.g_off_us:g} uS, line {device.line_ohm} Ohm per cell; first {len(x)} test images, "
          f"{args.runs} draws per point")
    reference = point(mapped, 1)[0]
    print(f"\nquantized, no device effects: {reference:.2f} %")
    print("\n| variation scale | at once | with read noise |")
    print("| --- | --- | --- |")
    for scale in (float(s) for s in args.scales.split(",") if s):
        print(f"| {scale:g} | {t_interval(point(mapped, args.runs, variation_scale=scale))} | "
              f"{t_interval(point(mapped, args.runs, variation_scale=scale, read_noise=True))} |", flush=True)
    print("\n| time since programming | scale 1 |")
    print("| --- | --- |")
    for t in (float(s) for s in args.times.split(",") if s):
        print(f"| {t:g} s | {t_interval(point(mapped, args.runs, variation_scale=1.0, time_since_programming_s=t))} |",
              flush=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        print("\n| N | tiles | quantized | IR drop | IR drop + scale 1 |")
        print("| --- | --- | --- | --- | --- |")
        for size in sizes:
            at = mapped_at(size)
            plain, dropped = point(at, 1)[0], t_interval(point(at, 1, ir_drop=True))
            print(f"| {size} | {at.tiles_placed} | {plain:.2f} % | {dropped} | "
                  f"{t_interval(point(at, args.runs, ir_drop=True, variation_scale=1.0))} |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
