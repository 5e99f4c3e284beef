"""resim's device model beside IBM aihwkit on the same networks and noise (issue #24 item 6).

    OMP_NUM_THREADS=2 python bench/peers/aihwkit_compare.py --data-dir ../shared/data

aihwkit is not a dependency of resim: it lives in its own virtualenv, made once with

    python3.11 -m venv bench/peers/.venv-aihwkit
    bench/peers/.venv-aihwkit/bin/pip install torch==2.13.0 torchvision==0.28.0 aihwkit==1.1.0

(aihwkit 1.1.0 asks for torch >= 2.9.1 and torchvision; without the pins pip pulls torch 2.14.1
with CUDA through torchvision 0.29.1). This script runs in resim's environment, writes a job (the
networks as plain torch Sequential modules, test tensors, the device numbers) and runs
bench/peers/aihwkit_worker.py in aihwkit's virtualenv on it, then prints both sides.

1. Accuracy under programming noise and its growth with time, LeNet-5 at 1.8 % density (the
   shipped workload's trained network), the first `--images` MNIST test images, `--runs` draws:
   - aihwkit: ReRamWan2022NoiseModel (Wan et al., Nature 2022) at its reference g_max = 40 uS and
     g_min = g_max x G_off / G_on of the hardware file, noise_scale = the variation scale, one
     analog tile per layer, ideal periphery; at 1 day and 2 days its fits for those times;
   - resim, matched: the hardware file's device block (the same Wan polynomial as a fraction of
     G_on), two-column encoding (a weight on one device of a pair, the other at G_off), 8-bit
     weights (7 magnitude bits) in one 7-bit cell, so the largest weight sits at G_on as in
     aihwkit, every tile placed (`reorder: none`: pruned weights are cells with
     programming noise, as in aihwkit's dense tiles), weight level; time through the file's
     relaxation (the Wan polynomial per time, or one exponent in the older form);
   - resim, as shipped: 8-bit weights in two 4-bit cells (the upper cell holds 3 magnitude bits,
     so it never goes above level 7 of 15, about half of G_on), skip-empty tiles (pruned-only
     tiles have no cells).
   Means with Student's t 95 % intervals; where they do not overlap the script says so.
2. Drift formula: aihwkit's power law (StateIndependentNoiseModel, t counted from the end of
   programming and offset by t0) against resim's Device.drift_factor at the same nu and t0; and
   the Wan spread at 1 day and 2 days over 1 s (aihwkit's three fits) against resim's
   Device.relaxed_sigma_us over programming_sigma_us at the same conductances.
3. Time per image on VGG-8 (bench/bench_faults_vgg8.py's network: NeuroSim's VGG8 at seeded
   weights, 10 % layerwise density, the hardware file's tiles: 256 x 256 on prime), one draw plus
   `--timing-images` images, median of `--repeat`: resim at weight level with variation and read
   noise, resim bit-true with them at each ADC range of `--range-fractions` (the file's, which rounds
   this network's sums to code 0 after its first layer, and 1/64, where a signal passes: the
   table's last column is the output's correlation with the float network's logits), aihwkit
   with the Wan model (ideal periphery, and its default IO: 7-bit inputs, 9-bit outputs, output
   noise 0.06 per read; its torch tile refuses forward.w_noise, the per-read weight noise aihwkit
   advises for the Wan model).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

WAN_G_MAX_US = 40.0          # aihwkit's reference g_max of the Wan fit (ReRamWan2022NoiseModel)
DAY = 86400.0


def t_interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half width of its Student's t 95 % interval (0 for one value)."""
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, float(stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5)


def sequential(model: Any) -> Any:
    """The zoo's chain of named children as a plain torch Sequential (aihwkit converts it and
    torch.save pickles it without resim's classes)."""
    import torch

    return torch.nn.Sequential(collections.OrderedDict(model.named_children())).eval()


def lenet(data_dir: Path, images: int) -> tuple[Any, Any, Any, Any]:
    """The shipped LeNet-5 1.8 % workload's network, its hardware file and the first test images."""
    from simulator.config.loader import load_workload
    from simulator.data.load import load_data
    from simulator.network.train import to_tensors
    from simulator.preparation import prepare_network

    workload = load_workload(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml")
    arrays = load_data(workload, data_dir)
    net = prepare_network(workload, arrays, train=False, progress=False)
    tensors = to_tensors(arrays)
    return net.model.eval(), workload.hardware, tensors.x_test[:images], tensors.y_test[:images]


def resim_noise_study(model: Any, hardware: Any, x: Any, y: Any, args: argparse.Namespace, *, reorder: str,
                      cell_bits: int) -> list[dict[str, Any]]:
    """resim's accuracy per (variation scale, time), weight level, `args.runs` draws each."""
    from simulator.config.faults import FaultSpec
    from simulator.device import resolve_device
    from simulator.faults.montecarlo import fault_study
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup

    setup = MappingSetup(size=hardware.array.rows, reorder=reorder, weight_bits=8, cell_bits=cell_bits,
                         encoding="two-column", per_column=False, seed=args.seed)
    mapped = map_network(model, tuple(x.shape[1:]), setup)
    device = resolve_device(hardware, cell_bits)
    rows = []
    for scale, t in args.points:
        spec = FaultSpec(rates=[0.0], encodings=["two-column"], runs=args.runs, variation_scale=scale,
                         time_since_programming_s=t)
        started = time.perf_counter()
        draws = fault_study(model, mapped, x, y, spec, batch_size=1000, progress=False,
                            device=device if spec.device_effects else None)
        rows.append({"scale": scale, "t_s": t, "accuracies": [100.0 * float(a) for a in draws["accuracy"]],
                     "seconds_per_image": (time.perf_counter() - started) / (args.runs * len(x)),
                     "tiles": mapped.tiles_placed})
    return rows


def resim_timing(hardware: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per-image time on VGG-8 of one device draw (variation 1, read noise) plus the images:
    weight level, then bit-true at each of `args.range_fractions`, median of `args.repeat`."""
    import copy

    import numpy as np
    import torch
    from bench_faults_vgg8 import cifar_test_images, vgg8_pruned

    from simulator.device import resolve_device
    from simulator.faults.bit_true import CALIBRATION_IMAGES
    from simulator.faults.cells import FaultRates
    from simulator.faults.device_draws import DeviceEffects, DeviceStreams
    from simulator.faults.montecarlo import Draw, DrawPlan, accuracy, draw_key, faulty_weights
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup

    torch.set_num_threads(args.threads)
    model = vgg8_pruned(0.1, args.seed)
    x, y = cifar_test_images(args.data_dir, max(args.timing_images, CALIBRATION_IMAGES))
    size = hardware.array.rows
    setup = MappingSetup(size=size, reorder="skip-empty", weight_bits=8, cell_bits=hardware.array.cell_bits,
                         encoding="two-column", per_column=False, seed=args.seed)
    mapped = map_network(model, (3, 32, 32), setup)
    device = resolve_device(hardware, setup.cell_bits)
    effects = DeviceEffects(device, variation_scale=1.0, read_noise=True, packing=hardware.array.packing, size=size)
    plan = DrawPlan(effects=effects)
    rates = FaultRates.from_total(0.0)
    xs, ys = x[:args.timing_images], y[:args.timing_images]

    def draw(run: int) -> Draw:
        key = draw_key(args.seed, "two-column", 0.0, run)
        return Draw("two-column", rates, np.random.default_rng(key), None, DeviceStreams.of(key, effects))

    weight_level = []
    for run in range(args.repeat):
        work = copy.deepcopy(model)
        modules = dict(work.named_modules())
        started = time.perf_counter()
        with torch.no_grad():
            for name, weight in faulty_weights(mapped, model, draw(run), plan).items():
                modules[name].weight.copy_(weight)
        accuracy(work, xs, ys, 250)
        weight_level.append((time.perf_counter() - started) / len(xs))

    bit_true = [bit_true_timing(model, mapped, hardware, fraction, draw, effects, xs[:args.bit_true_images], x, args)
                for fraction in args.range_fractions]
    return [{"side": "resim weight level (variation 1 + read noise)", "images": len(xs),
             "ms_per_image": 1000 * statistics.median(weight_level),
             "all_ms": [round(1000 * t, 2) for t in weight_level]},
            *bit_true, {"tiles": mapped.tiles_placed}]


def bit_true_timing(model: Any, mapped: Any, hardware: Any, fraction: float | None, draw: Any, effects: Any,
                    images: Any, calibration: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Per-image time of one bit-true draw (the levels drawn and laid out) plus `images`, median of
    `args.repeat`, on `hardware` with its ADC range set to `fraction` (None: the file's); and
    whether the output carries a signal: its correlation with the float network's logits (PRIME's
    6-bit converter over the full range rounds this network's sums to code 0 after its first
    layer, docs/faults.md "Bit-true crossbar emulation")."""
    import torch
    from bench_faults_vgg8 import signal

    from simulator.faults.bit_true import (
        CALIBRATION_IMAGES,
        Periphery,
        calibrate_input_scales,
        compile_matrix,
        crossbar_network,
    )
    from simulator.faults.device_draws import device_tile_levels
    from simulator.faults.montecarlo import DrawPlan, layer_draw

    if fraction is not None:
        hardware = hardware.model_copy(update={"adc": hardware.adc.model_copy(update={"range_fraction": fraction})})
    setup = mapped.setup
    periphery = Periphery.from_hardware(hardware, setup.size, setup.cell_bits)
    scales = calibrate_input_scales(model, mapped.names, calibration[:CALIBRATION_IMAGES], periphery.input_bits)
    net = crossbar_network(model, scales, periphery)
    crossbars = dict(net.named_modules())
    times, logits = [], []
    for run in range(args.repeat):
        one = draw(run)
        started = time.perf_counter()
        for layer in mapped.layers:
            matrices, weight_scales = [], []
            tile_draw = layer_draw(one, DrawPlan(), setup, layer.name)
            for W, tiles in zip(layer.matrices, layer.tiles):
                quantized, levels = device_tile_levels(W, tiles, tile_draw, effects, one.device)
                matrices.append(compile_matrix(W.shape, tiles, levels, "two-column", setup.weight_bits,
                                               setup.cell_bits, periphery, setup.size))
                weight_scales.append(quantized.scale)
            crossbars[layer.name].load(matrices, weight_scales)
        with torch.no_grad():
            logits = [net(images[start:start + 16]) for start in range(0, len(images), 16)]
        times.append((time.perf_counter() - started) / len(images))
    with torch.no_grad():
        r = signal(torch.cat(logits), model(images))
    range_name = f"ADC range {hardware.adc.range_fraction:g}" + (" (the file's)" if fraction is None else "")
    return {"side": f"resim bit-true (variation 1 + read noise), {range_name}", "images": len(images),
            "ms_per_image": 1000 * statistics.median(times), "all_ms": [round(1000 * t, 1) for t in times],
            "signal": r}


def vgg8_for_aihwkit(args: argparse.Namespace) -> tuple[Any, Any]:
    from bench_faults_vgg8 import cifar_test_images, vgg8_pruned

    x, _ = cifar_test_images(args.data_dir, args.timing_images)
    return sequential(vgg8_pruned(0.1, args.seed)), x


def run_aihwkit(job: dict[str, Any], python: Path) -> dict[str, Any]:
    import torch

    with tempfile.TemporaryDirectory() as folder:
        job_path, result_path = Path(folder) / "job.pt", Path(folder) / "result.json"
        torch.save(job, job_path)
        done = subprocess.run([str(python), str(Path(__file__).with_name("aihwkit_worker.py")), str(job_path),
                               str(result_path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"aihwkit worker failed ({python}):\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


def print_noise(aihwkit_rows: list[dict[str, Any]], matched: list[dict[str, Any]], shipped: list[dict[str, Any]],
                runs: int, images: int) -> None:
    print(f"\nLeNet-5 1.8 %, first {images} MNIST test images, {runs} draws per point, weight level / ideal "
          "periphery; mean +- Student's t 95 % half width")
    print("| variation scale | time | aihwkit 1.1.0 (Wan 2022) | resim, matched (one 7-bit cell, all tiles) | "
          "resim, shipped (2 x 4-bit cells, skip-empty) | intervals overlap |")
    print("| --- | --- | --- | --- | --- | --- |")
    for a, m, s in zip(aihwkit_rows, matched, shipped):
        am, ah = t_interval(a["accuracies"])
        mm, mh = t_interval(m["accuracies"])
        sm, sh = t_interval(s["accuracies"])
        overlap = "yes" if abs(am - mm) <= ah + mh else f"no ({mm - am:+.2f})"
        when = "at once" if a["t_s"] == 0 else f"{a['t_s'] / DAY:g} day(s)"
        print(f"| {a['scale']:g} | {when} | {am:.2f} +- {ah:.2f} % | {mm:.2f} +- {mh:.2f} % | "
              f"{sm:.2f} +- {sh:.2f} % | {overlap} |")
    def ms(rows: list[dict[str, Any]]) -> str:
        return f"{1000 * statistics.fmean(r['seconds_per_image'] for r in rows):.3f} ms"

    print(f"time per image of these studies: aihwkit {ms(aihwkit_rows)}, resim matched {ms(matched)}, "
          f"resim shipped {ms(shipped)} "
          f"(tiles: matched {matched[0]['tiles']}, shipped {shipped[0]['tiles']})")


def print_drift(drift: dict[str, Any], hardware: Any, law: dict[str, Any]) -> None:
    from simulator.device import Device, resolve_device

    device = resolve_device(hardware)
    power = Device(device.conductances, device.sigma_by_power, device.distribution, 0.0, law["nu"], 0.0,
                   law["t0_s"], None)
    print(f"\nPower-law drift g(t) / g_prog at nu = {law['nu']}, t0 = {law['t0_s']} s")
    print("| t since programming | aihwkit ((t + t0) / t0)^-nu | resim (max(t, t0) / t0)^-nu | difference |")
    print("| --- | --- | --- | --- |")
    for row in drift["power_law"]:
        ours = power.drift_factor(row["t_s"])
        print(f"| {row['t_s']:g} s | {row['ratio']:.5f} | {ours:.5f} | {ours - row['ratio']:+.5f} |")
    import numpy as np

    form = (f"the file's polynomials at {', '.join(f'{t:g} s' for t, _ in device.relaxed_sigma_by_time)}"
            if device.relaxed_sigma_by_time else f"(t / t0)^nu_r, nu_r = {device.relaxation_nu}")
    print(f"\nSpread growth sigma(t) / sigma(1 s): aihwkit's Wan fits against resim's relaxed_sigma_us ({form})")
    print("| G / G_on | t | aihwkit (Wan fit) | resim | ")
    print("| --- | --- | --- | --- |")
    for row in drift["wan_spread"]:
        g = np.array([row["x"] * device.conductances.g_on_us])
        ours = float(device.relaxed_sigma_us(g, row["t_s"])[0] / device.programming_sigma_us(g)[0])
        print(f"| {row['x']:g} | {row['t_s'] / DAY:g} day(s) | {row['ratio']:.3f} | {ours:.3f} |")
    print("\nProgramming spread at 1 s, as a fraction of G_on: aihwkit's draws (g_max 40 uS) against "
          "resim's programming_sigma_us / G_on")
    print("| G / G_on | aihwkit drawn | resim |")
    print("| --- | --- | --- |")

    for row in drift["wan_sigma_1s_us"]:
        g_on = device.conductances.g_on_us
        ours = float(device.programming_sigma_us(np.array([row["x"] * g_on]))[0]) / g_on
        print(f"| {row['x']:g} | {row['sigma_us'] / WAN_G_MAX_US:.4f} | {ours:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--aihwkit-python", type=Path,
                        default=Path(__file__).with_name(".venv-aihwkit") / "bin" / "python")
    parser.add_argument("--images", type=int, default=2000, help="MNIST test images of the accuracy study")
    parser.add_argument("--runs", type=int, default=10, help="draws per point of the accuracy study")
    parser.add_argument("--scales", default="0,0.5,1,2", help="variation scales at once after programming")
    parser.add_argument("--timing-images", type=int, default=64, help="VGG-8 images per timed draw")
    parser.add_argument("--bit-true-images", type=int, default=16, help="of those, bit-true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--range-fractions", default="file,0.015625",
                        help="bit-true ADC ranges to time, comma-separated: 'file' (the hardware file's) or a "
                             "fraction; 1/64 is where PRIME's 6-bit converter passes a signal (docs/faults.md)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true", help="only part 3 (time per image)")
    args = parser.parse_args()
    args.points = [(float(s), 0.0) for s in args.scales.split(",")] + [(1.0, DAY), (1.0, 2 * DAY)]
    args.range_fractions = [None if f == "file" else float(f) for f in args.range_fractions.split(",") if f]

    import torch

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} thread(s), "
          f"torch {torch.__version__}; load average before: {os.getloadavg()}")
    model, hardware, x, y = lenet(args.data_dir, args.images)
    g_on, g_off = 1e6 / hardware.array.r_on_ohm, 1e6 / hardware.array.r_off_ohm
    assert hardware.device is not None, f"{hardware.name} has no device: block"
    law = {"nu": 0.1, "t0_s": 20.0, "times_s": [0.0, 20.0, 60.0, 3600.0, DAY, 30 * DAY]}
    job: dict[str, Any] = {
        "threads": args.threads,
        "device": {"g_max_us": WAN_G_MAX_US, "g_min_us": WAN_G_MAX_US * g_off / g_on},
        "drift_law": law, "spread_x": [0.05, 0.25, 0.5, 0.75, 1.0],
        "models": {"lenet5": sequential(model)}, "x": {"lenet5": x}, "y": {"lenet5": y},
        "noise_studies": [] if args.timing_only else [
            {"model": "lenet5", "points": args.points, "runs": args.runs, "seed": args.seed, "batch": 1000}],
        "timing_studies": [],
    }
    if not args.skip_timing:
        vgg, vx = vgg8_for_aihwkit(args)
        job["models"]["vgg8"], job["x"]["vgg8"], job["y"]["vgg8"] = vgg, vx, None
        job["timing_studies"].append({"model": "vgg8", "images": args.timing_images, "batch": 16,
                                      "tile": hardware.array.rows, "repeat": args.repeat, "threads": args.threads})
    started = time.perf_counter()
    peer = run_aihwkit(job, args.aihwkit_python)
    print(f"aihwkit {peer['aihwkit']} (torch {peer['torch']}) side: {time.perf_counter() - started:.0f} s")
    if not args.timing_only:
        started = time.perf_counter()
        matched = resim_noise_study(model, hardware, x, y, args, reorder="none", cell_bits=7)
        shipped = resim_noise_study(model, hardware, x, y, args, reorder="skip-empty",
                                    cell_bits=hardware.array.cell_bits)
        print(f"resim side (accuracy): {time.perf_counter() - started:.0f} s")
        print_noise(peer["noise"][0]["rows"], matched, shipped, args.runs, len(x))
        print_drift(peer["drift"], hardware, law)
    if not args.skip_timing:
        ours = resim_timing(hardware, args)
        print(f"\nVGG-8 at 10 % layerwise density, {ours[-1]['tiles']} tiles of {hardware.array.rows} x "
              f"{hardware.array.rows}, one draw + the images, median of {args.repeat}, {args.threads} thread(s)")
        print("| simulator, mode | images per draw | ms per image | all | output's correlation with the float "
              "network |")
        print("| --- | --- | --- | --- | --- |")
        for row in ours[:-1]:
            signal = f"{row['signal']:.3f}" if "signal" in row else ""
            print(f"| {row['side']} | {row['images']} | {row['ms_per_image']:.2f} | {row['all_ms']} | {signal} |")
        for row in peer["timing"][0]["rows"]:
            print(f"| aihwkit {peer['aihwkit']}, Wan 2022, {row['periphery']} | {args.timing_images} | "
                  f"{row['ms_per_image']:.2f} | {row['all_ms']} | |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
