"""DNN+NeuroSim V1.4 and resim side by side on VGG8 / CIFAR-10 at matched settings (issue #23 item 8).

    python bench/peers/neurosim_compare.py --neurosim /path/to/DNN_NeuroSim_V1.4 \\
        --data-dir ../shared/data --out results/neurosim_compare

DNN+NeuroSim V1.4 (github neurosim/DNN_NeuroSim_V1.4 @ ac828e6, obtained separately and kept outside
this repository; nothing of it is in here) is built and run from PATH. Only its C++ core is used:
no Python of NeuroSim runs, so neither its VGG8.pth nor its CIFAR-10 download is needed. The C++
core (Inference_pytorch/NeuroSIM) reads its settings from Param.cpp at compile time and its workload
from the command line:

    main NETWORK.csv synapseBit numBitInput numRowSubArray numRowParallel W1.csv IN1.csv W2.csv IN2.csv ...

(main.cpp argv[1..5], then a weight and an input file per layer, argv[2i+6], argv[2i+7]). This
script copies NeuroSIM/ to a build folder (--build-dir, default inside --out or a temporary
folder), replaces the lines of Param.cpp named below with the values of resim's hardware file
(bench/peers/neurosim_matched.yaml) and workload (bench/peers/vgg8_neurosim.yaml), builds it with
`nice make -j JOBS` (g++), and writes its inputs in the form its Python wrapper writes them
(Inference_pytorch/utee/hook.py):

    NETWORK.csv   one line per Conv2d / Linear: input rows, columns, channels, kernel rows, columns,
                  output channels, 1 if a 2x2 max pool follows, stride (as NetWork_VGG8.csv)
    Wi.csv        the layer's (inputs x outputs) weight matrix (rows in unfold order channel, kh,
                  kw), resim's quantised integers q / 2^(bits-1): NeuroSim's LoadInWeightData maps
                  w in [-1, 1] to round(2^(bits-1) (w + 1)) = q + 2^(bits-1), resim's offset code
    INi.csv       the layer's input vectors of one image as bits: a row per weight row, numBitInput
                  columns per input vector (most significant first), hook.py's layout

The weights are resim's own (the workload's network after `prepare_network`), quantised as resim's
mapper quantises them; the inputs are those of test image --image, coded as resim's measured DAC
activity codes them (simulator/lowering/activity.py: per layer scale = largest |input| over the
bit-true calibration images / (2^bits - 1), code = round(|x| / scale)). NeuroSim's output is parsed;
resim runs `resim run WORKLOAD --no-accuracy` on the same network (hardware_study.dac_activity
measured on that image). Both run as child processes of this script; wall time and peak memory are
each child's own. The table puts resim's components into NeuroSim's groups (its main.cpp summary):

    ADC        NeuroSim: multilevel S/A + encoder + the array's wordline / bitline energy
               (SubArray.cpp: readDynamicEnergyADC = readDynamicEnergyArray + multilevelSenseAmp
               + multilevelSAEncoder); resim: adc + sample_hold + array (cells) + bitline
    accumulation  NeuroSim: adders, shift-adds, DFFs, tile / global accumulation; resim: shift_add
    other      NeuroSim: switch matrices, muxes, decoders, buffers, interconnect, ReLU, pooling;
               resim: dac (wordline drivers) + row_decoder + column_mux + max_pool + activation
               + buffer + input_registers + output_registers + bus + router + network_wire
      of which buffers / interconnect: NeuroSim's own buffer and ic lines; resim: buffer +
               input_registers + output_registers; bus + router + network_wire
    leakage    NeuroSim: its leakage energy; resim: every component's static energy

docs/validation.md explains every difference above 25 %.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:       # mnsim_compare beside this file (also when loaded by a test)
    sys.path.insert(0, str(HERE))

from mnsim_compare import Run, machine, run_child  # noqa: E402

from simulator.config import load_workload  # noqa: E402
from simulator.config.hardware import HardwareConfig  # noqa: E402
from simulator.config.loader import Workload  # noqa: E402

WORKLOAD = HERE / "vgg8_neurosim.yaml"
THRESHOLD = 0.25

# NeuroSim V1.4 Param.cpp L351-363 @ ac828e6: the read voltage is fixed per node ("due to the
# assumptions for the ADC modeling equation"); resim's array.read_voltage_v must agree.
READ_VOLTAGE_BY_NODE = {130: 0.58, 90: 0.58, 65: 0.55, 45: 0.51, 32: 0.51, 22: 0.55, 14: 0.277, 10: 0.28,
                        7: 0.264, 5: 0.253, 3: 0.248, 2: 0.28, 1: 0.272}


# ----------------------------------------------------------------------------- NeuroSim's settings

@dataclass(frozen=True)
class Matched:
    """The values both tools read, from resim's hardware file and workload."""

    rows: int
    cols: int
    cell_bits: int
    adc_bits: int
    columns_per_adc: int
    technology_nm: int
    r_on_ohm: float
    r_off_ohm: float
    weight_bits: int
    input_bits: int

    @classmethod
    def of(cls, workload: Workload) -> Matched:
        hw: HardwareConfig = workload.hardware
        mapping = workload.config.mapping
        problems = []
        if mapping.encoding != "offset":
            problems.append(f"mapping.encoding {mapping.encoding!r}: NeuroSim stores q + 2^(bits-1) (offset)")
        if mapping.reorder != "none":
            problems.append(f"mapping.reorder {mapping.reorder!r}: NeuroSim maps every tile (none)")
        if mapping.crossbar.size != hw.array.rows or hw.array.rows != hw.array.cols:
            problems.append("mapping.crossbar.size, array.rows and array.cols must be one size (NeuroSim's subarray)")
        if hw.dac.bits != 1:
            problems.append(f"dac.bits {hw.dac.bits}: NeuroSim applies one input bit per read")
        if hw.adc.resolution != "fixed":
            problems.append("adc.resolution must be fixed (NeuroSim's levelOutput)")
        if hw.chip.execution != "layer-sequential":
            problems.append("chip.execution must be layer-sequential (NeuroSim is built with pipeline = false)")
        cell_bits = mapping.cell_bits or hw.array.cell_bits
        if mapping.weight_bits % cell_bits:
            problems.append(f"weight_bits {mapping.weight_bits} is not a multiple of cell_bits {cell_bits}")
        voltage = READ_VOLTAGE_BY_NODE.get(hw.technology_nm)
        if voltage is None:
            problems.append(f"technology_nm {hw.technology_nm}: NeuroSim V1.4 knows {sorted(READ_VOLTAGE_BY_NODE)}")
        elif hw.array.read_voltage_v is not None and not math.isclose(hw.array.read_voltage_v, voltage):
            problems.append(f"array.read_voltage_v {hw.array.read_voltage_v}: NeuroSim fixes {voltage} V at "
                            f"{hw.technology_nm} nm (Param.cpp L351-363)")
        if problems:
            raise ValueError(f"{workload.path}: not a setting NeuroSim can share: " + "; ".join(problems))
        return cls(rows=hw.array.rows, cols=hw.array.cols, cell_bits=cell_bits, adc_bits=hw.adc.bits,
                   columns_per_adc=hw.adc.columns_per_adc, technology_nm=hw.technology_nm,
                   r_on_ohm=hw.array.r_on_ohm, r_off_ohm=hw.array.r_off_ohm,
                   weight_bits=mapping.weight_bits, input_bits=hw.input_bits)

    def param_settings(self) -> dict[str, str]:
        """Param.cpp assignments (its user-defined section, first assignment of each name)."""
        return {
            "memcelltype": "2",                  # RRAM (Param.cpp L61: 1 SRAM, 2 RRAM, 3 FeFET)
            "pipeline": "false",                 # layer by layer, as resim's layer-sequential chip
            "technode": str(self.technology_nm),
            "numRowSubArray": str(self.rows),
            "numColSubArray": str(self.cols),
            "numColMuxed": str(self.columns_per_adc),
            "levelOutput": str(2 ** self.adc_bits),
            "cellBit": str(self.cell_bits),
            "resistanceOn": f"{self.r_on_ohm:g}",
            "resistanceOff": f"{self.r_off_ohm:g}",
        }

    def command_args(self) -> list[str]:
        """main.cpp argv[2..5]: synapseBit, numBitInput, numRowSubArray, numRowParallel (all rows)."""
        return [str(self.weight_bits), str(self.input_bits), str(self.rows), str(self.rows)]


def patch_param(text: str, settings: dict[str, str]) -> str:
    """Param.cpp with the first `name = value;` of each setting replaced (its comment kept)."""
    for name, value in settings.items():
        pattern = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)[^;]*;", flags=re.M)
        def assign(match: re.Match[str], value: str = value) -> str:
            return f"{match.group(1)}{value};"
        text, count = pattern.subn(assign, text, count=1)
        if count != 1:
            raise KeyError(f"Param.cpp has no assignment of {name}; is this DNN+NeuroSim V1.4?")
    return text


def build_neurosim(root: Path, build_dir: Path, settings: dict[str, str], jobs: int, log: Path) -> Path:
    """Copy NeuroSIM/ to build_dir (once), write the patched Param.cpp (only when it changes, so
    make rebuilds only what it must) and make; the path of the built `main`."""
    source = root / "Inference_pytorch" / "NeuroSIM"
    if not (source / "Param.cpp").is_file():
        raise FileNotFoundError(f"{source}: no Param.cpp (give the DNN_NeuroSim_V1.4 checkout's root)")
    target = build_dir / "NeuroSIM"
    if not target.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.o", "main", ".depend"))
    param = target / "Param.cpp"
    patched = patch_param((source / "Param.cpp").read_text(), settings)
    if param.read_text() != patched:
        param.write_text(patched)
    with open(log, "w") as out:
        done = subprocess.run(["nice", "-n", "10", "make", f"-j{jobs}"], cwd=target, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building NeuroSim in {target} failed ({done.returncode}); last lines of {log}:\n"
                           + "\n".join(log.read_text().splitlines()[-15:]))
    return target / "main"


# ----------------------------------------------------------------------------- NeuroSim's input files

@dataclass(frozen=True)
class NetRow:
    """One line of NeuroSim's network CSV (NetWork_VGG8.csv)."""

    name: str
    in_h: int
    in_w: int
    in_channels: int
    kernel_h: int
    kernel_w: int
    out_channels: int
    pool: int          # 1: a max pool follows (NeuroSim assumes 2x2: Chip.cpp numBitToLoadIn / 4)
    stride: int

    def csv(self) -> str:
        return ",".join(str(v) for v in (self.in_h, self.in_w, self.in_channels, self.kernel_h, self.kernel_w,
                                          self.out_channels, self.pool, self.stride))


def network_csv(rows: list[NetRow]) -> str:
    return "".join(row.csv() + "\n" for row in rows)


def network_rows(model: Any, input_shape: tuple[int, int, int]) -> list[NetRow]:
    """The Conv2d / Linear layers of `model` in call order as NeuroSim lines: a layer is marked
    `pool` when a max pool runs before the next weight layer (or at the end)."""
    import torch
    from torch import nn

    from simulator.lowering.tracing import trace_forward

    names = {module: name for name, module in model.named_modules()}
    calls: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        calls.append((names[module], module, tuple(inputs[0].shape)))

    trace_forward(model, input_shape, (nn.Conv2d, nn.Linear, nn.MaxPool2d), hook)
    rows: list[NetRow] = []
    seen: set[str] = set()
    for index, (name, module, shape) in enumerate(calls):
        if isinstance(module, nn.MaxPool2d) or name in seen:
            continue
        seen.add(name)
        pooled = index + 1 < len(calls) and isinstance(calls[index + 1][1], nn.MaxPool2d)
        if isinstance(module, nn.Conv2d):
            if module.groups != 1 or module.stride[0] != module.stride[1]:
                raise ValueError(f"{name}: NeuroSim's network CSV has ungrouped, square-stride convolutions only")
            rows.append(NetRow(name, shape[2], shape[3], module.in_channels, module.kernel_size[0],
                               module.kernel_size[1], module.out_channels, int(pooled), module.stride[0]))
        else:
            assert isinstance(module, nn.Linear)
            rows.append(NetRow(name, 1, 1, int(module.in_features), 1, 1, int(module.out_features), int(pooled), 1))
    return rows


def weight_text(q: np.ndarray, weight_bits: int) -> str:
    """hook.py's weight file: the (inputs x outputs) matrix of q / 2^(bits-1), comma separated.
    Every value is a multiple of 2^-(bits-1), written exactly, so NeuroSim's rounding gives back
    q + 2^(bits-1) (Chip.cpp LoadInWeightData)."""
    if q.ndim != 2:
        raise ValueError(f"a weight matrix is 2-D (inputs x outputs), got shape {q.shape}")
    half = 2 ** (weight_bits - 1)
    if q.size and np.abs(q).max() >= half:
        raise ValueError(f"|q| must stay below 2^(bits-1) = {half} for NeuroSim's [-1, 1] weight range")
    table = np.array([repr(v / half) for v in range(-half + 1, half)])
    strings = table[q.astype(np.int64) + half - 1]
    return "".join(",".join(row) + "\n" for row in strings)


def input_bits(codes: np.ndarray, bits: int) -> np.ndarray:
    """(rows, vectors) unsigned codes -> (rows, vectors x bits) 0/1, each vector's bits most
    significant first (hook.py write_matrix_activation_conv's layout)."""
    if codes.ndim != 2:
        raise ValueError(f"codes are (rows, vectors), got shape {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= 2 ** bits):
        raise ValueError(f"codes must lie in 0..{2 ** bits - 1}")
    shifts = np.arange(bits - 1, -1, -1)
    planes = (codes.astype(np.int64)[:, :, None] >> shifts) & 1
    return planes.reshape(codes.shape[0], -1).astype(np.uint8)


def bits_text(matrix: np.ndarray) -> bytes:
    """A 0/1 matrix as comma-separated lines, written without per-value formatting (the files
    run to tens of MB)."""
    rows, cols = matrix.shape
    out = np.full((rows, 2 * cols), ord(","), dtype=np.uint8)
    out[:, 0::2] = matrix + ord("0")
    out[:, -1] = ord("\n")
    return out.tobytes()


def ones_share(matrix: np.ndarray) -> float:
    return float(matrix.mean()) if matrix.size else 0.0


@dataclass(frozen=True)
class Exported:
    rows: list[NetRow]
    files: list[str]                     # W1, IN1, W2, IN2, ... as main.cpp reads them
    input_ones: dict[str, float]         # share of 1 bits per layer's input file


def export_inputs(workload: Workload, data_dir: Path | None, image: int, folder: Path) -> Exported:
    """Write NeuroSim's network, weight and input files for resim's network of `workload`."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from simulator.data.load import input_shape, load_data
    from simulator.faults.bit_true import CALIBRATION_IMAGES
    from simulator.lowering.layers import weight_matrices
    from simulator.mapping.quantize import quantize
    from simulator.network.train import normalised_images
    from simulator.preparation import prepare_network

    arrays = load_data(workload, data_dir)
    model = prepare_network(workload, arrays, progress=False).model.eval()
    shape = input_shape(arrays)
    rows = network_rows(model, shape)
    modules = dict(model.named_modules())
    mapping = workload.config.mapping
    bits = workload.hardware.input_bits
    peaks = {row.name: 0.0 for row in rows}
    inputs: dict[str, torch.Tensor] = {}

    def peak(name: str) -> Any:
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            peaks[name] = max(peaks[name], float(args[0].abs().max()))
        return hook

    def keep(name: str) -> Any:
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            inputs.setdefault(name, args[0].detach().clone())
        return hook

    with torch.no_grad():
        for record, images in ((peak, arrays.x_train[:CALIBRATION_IMAGES]), (keep, arrays.x_test[image:image + 1])):
            handles = [modules[row.name].register_forward_pre_hook(record(row.name)) for row in rows]
            try:
                batch = normalised_images(images, arrays)
                for start in range(0, len(batch), 64):
                    model(batch[start:start + 64])
            finally:
                for handle in handles:
                    handle.remove()
    (folder / "NetWork.csv").write_text(network_csv(rows))
    files: list[str] = []
    ones: dict[str, float] = {}
    for index, row in enumerate(rows, start=1):
        module = modules[row.name]
        q = quantize(weight_matrices(module)[0], mapping.weight_bits, per_column=mapping.per_column_scale).q
        x = inputs[row.name]
        scale = peaks[row.name] / (2 ** bits - 1) if peaks[row.name] > 0 else 1.0
        if isinstance(module, nn.Conv2d):
            if isinstance(module.padding, str):
                raise ValueError(f"{row.name}: padding {module.padding!r}; numeric padding only")
            unfolded = F.unfold(x, module.kernel_size, dilation=module.dilation, padding=module.padding,
                                stride=module.stride)[0]                      # (C kh kw, windows)
        else:
            unfolded = x.reshape(-1, 1)
        codes = torch.mul(unfolded.abs(), 1.0 / scale).round_().clamp_(0, 2 ** bits - 1).to(torch.int64).numpy()
        matrix = input_bits(codes, bits)
        weights, activations = folder / f"weight{index}.csv", folder / f"input{index}.csv"
        weights.write_text(weight_text(q, mapping.weight_bits))
        activations.write_bytes(bits_text(matrix))
        files += [str(weights), str(activations)]
        ones[row.name] = ones_share(matrix)
    return Exported(rows, files, ones)


# ----------------------------------------------------------------------------- NeuroSim's report

NUMBER = r"([-+0-9.eE]+)"


def _first(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"NeuroSim's output has no line matching {pattern!r}")
    return float(match.group(1))


def _section(title: str, text: str) -> list[str]:
    """The `layerN: value` lines under one of the floorplan's headings ("----- TITLE -----")."""
    match = re.search(rf"-+ {title} -+\n(.*?)\n\s*\n", text, flags=re.S)
    return re.findall(r"^layer\d+: (\S+)$", match.group(1), flags=re.M) if match else []


BREAKDOWN = (("adc", r"ADC \(or S/As and precharger for SRAM\)"), ("accum", r"Accumulation Circuits \([^)]*\)"),
             ("other", r"Other Peripheries \([^)]*\)"))


def parse_neurosim(text: str) -> dict[str, Any]:
    """NeuroSim's chip summary (energies pJ, latencies ns, areas um^2), its layers and floorplan."""
    if "------------------------------ Summary" not in text:
        raise ValueError("NeuroSim's output has no Summary section (did it finish?)")
    summary = text[text.index("------------------------------ Summary"):]
    mode = "layer-by-layer" if "layer-by-layer readLatency" in summary else "pipeline"
    total = "Chip total" if mode == "layer-by-layer" else "Chip pipeline-system"
    out: dict[str, Any] = {
        "mode": mode,
        "area_total": _first(rf"ChipArea : {NUMBER}um\^2", summary),
        "area_array": _first(rf"Chip total CIM array : {NUMBER}um\^2", summary),
        "area_ic": _first(rf"Total IC Area on chip \(Global and Tile/PE local\): {NUMBER}um\^2", summary),
        "area_adc": _first(rf"Total ADC \(or S/As and precharger for SRAM\) Area on chip : {NUMBER}um\^2", summary),
        "area_accum": _first(rf"Total Accumulation Circuits \([^)]*\) on chip : {NUMBER}um\^2", summary),
        "area_other": _first(rf"Other Peripheries \([^)]*\) : {NUMBER}um\^2", summary),
        "latency_ns": _first(rf"(?:layer-by-layer readLatency|pipeline-system-clock-cycle) \(per image\) is: "
                             rf"{NUMBER}ns", summary),
        "energy_dynamic": _first(rf"{total} readDynamicEnergy(?: \(per image\))? is: {NUMBER}pJ", summary),
        "energy_leakage": _first(rf"{total} leakage Energy(?: \(per image\))? is: {NUMBER}pJ", summary),
        "leakage_power_uw": _first(rf"{total} leakage Power(?: \(per image\))? is: {NUMBER}uW", summary),
        "latency_buffer_ns": _first(rf"buffer readLatency(?: \(per image\))? is: {NUMBER}ns", summary),
        "energy_buffer": _first(rf"buffer readDynamicEnergy(?: \(per image\))? is: {NUMBER}pJ", summary),
        "latency_ic_ns": _first(rf"ic readLatency(?: \(per image\))? is: {NUMBER}ns", summary),
        "energy_ic": _first(rf"ic readDynamicEnergy(?: \(per image\))? is: {NUMBER}pJ", summary),
    }
    clock = re.search(rf"Chip clock period is: {NUMBER}ns", summary)
    out["clock_ns"] = float(clock.group(1)) if clock else math.nan
    for key, label in BREAKDOWN:
        out[f"latency_{key}_ns"] = _first(rf"----------- {label} readLatency is : {NUMBER}ns", summary)
        out[f"energy_{key}"] = _first(rf"----------- {label} readDynamicEnergy is : {NUMBER}pJ", summary)
    runtime = re.search(r"Total Run-time of NeuroSim: (\d+) seconds", text)
    out["runtime_s"] = float(runtime.group(1)) if runtime else math.nan
    out["tiles"] = [float(v) for v in _section(r"# of tile used for each layer", text)]
    out["speedup"] = [float(v) for v in _section(r"Speed-up of each layer", text)]
    layers = []
    for block in re.split(r"-------------------- Estimation of Layer \d+ -+", text)[1:]:
        layer = {"latency_ns": _first(rf"readLatency is: {NUMBER}ns", block),
                 "energy_dynamic": _first(rf"readDynamicEnergy is: {NUMBER}pJ", block),
                 "energy_leakage": _first(rf"leakageEnergy is: {NUMBER}pJ", block),
                 "latency_buffer_ns": _first(rf"buffer latency is: {NUMBER}ns", block),
                 "energy_buffer": _first(rf"buffer readDynamicEnergy is: {NUMBER}pJ", block),
                 "latency_ic_ns": _first(rf"ic latency is: {NUMBER}ns", block),
                 "energy_ic": _first(rf"ic readDynamicEnergy is: {NUMBER}pJ", block)}
        for key, label in BREAKDOWN:
            layer[f"latency_{key}_ns"] = _first(rf"----------- {label} readLatency is : {NUMBER}ns", block)
            layer[f"energy_{key}"] = _first(rf"----------- {label} readDynamicEnergy is : {NUMBER}pJ", block)
        layers.append(layer)
    out["layers"] = layers
    return out


# ----------------------------------------------------------------------------- resim's report

# resim's components in NeuroSim's groups (module docstring).
# Chip model v3's components: ISAAC's input and output registers hold what NeuroSim's register-file
# PE / tile buffers hold; the row decoder, column multiplexers, max-pool and activation units are in
# NeuroSim's "other" with its switch matrices (main.cpp summary).
OTHER_PARTS = {"buffer": ("buffer", "input_registers", "output_registers"), "ic": ("bus", "router", "network_wire"),
               "drivers": ("dac", "row_decoder", "column_mux", "max_pool", "activation", "index_registers")}
GROUPS = {"adc": ("adc", "sample_hold", "array", "bitline"), "accum": ("shift_add", "composition_tree"),
          "other": tuple(name for names in OTHER_PARTS.values() for name in names)}
AREA_GROUPS = {"array": ("array",), "ic": ("bus", "router", "network_wire"), "adc": ("adc", "sample_hold"),
               "accum": ("shift_add", "composition_tree"),
               "other": ("dac", "row_decoder", "column_mux", "max_pool", "activation", "index_registers", "buffer",
                         "input_registers", "output_registers")}


def resim_figures(report: dict) -> dict[str, Any]:
    """resim's totals (pJ, um^2, ns) in NeuroSim's groups."""
    hw = report["hardware"]
    comps = {c["component"]: c for c in hw["components"]}

    def total(key: str, names: tuple[str, ...]) -> float:
        return float(sum(comps[n][key] for n in names if n in comps))

    summary = hw["summary"]
    out: dict[str, Any] = {"latency_ns": summary["latency_ns"], "energy_total": summary["energy_per_inference_pj"],
                           "energy_dynamic": summary["dynamic_energy_pj"],
                           "energy_leakage": summary["static_energy_pj"],
                           "area_total": summary["area_mm2"] * 1e6, "tiles": summary["tiles"],
                           "arrays": summary["arrays_mapped"], "cycle_ns": summary["cycle_ns"],
                           "dac_activity": summary.get("dac_activity")}
    for key, names in {**GROUPS, **OTHER_PARTS}.items():
        out[f"energy_{key}"] = total("dynamic_pj", names)
        out[f"static_{key}"] = total("static_pj", names)
    for key, names in AREA_GROUPS.items():
        out[f"area_{key}"] = total("area_um2", names)
    out["components"] = {name: {k: c[k] for k in ("events", "energy_per_event_pj", "dynamic_pj", "static_pj",
                                                   "leakage_mw", "area_um2") if k in c}
                         for name, c in comps.items()}
    out["layers"] = [{k: row.get(k) for k in ("layer", "start_ns", "end_ns", "energy_pj", "dac_drives",
                                               "adc_conversions", "arrays", "replicas")}
                     for row in report.get("layers", [])]
    return out


# ----------------------------------------------------------------------------- the table

def compared(mine: float, theirs: float) -> str:
    """resim / NeuroSim, starred above the threshold."""
    if not theirs:
        return "-"
    value = mine / theirs
    return f"{value:.3g}" + ("" if abs(value - 1) <= THRESHOLD else " **")


ENERGY_ROWS = (("adc", "ADC (NeuroSim: S/As + encoder + array WL/BL; resim: ADC + S&H + cells + bitlines)"),
               ("accum", "accumulation (adders, shift-adds)"),
               ("other", "other peripheries, all"),
               ("drivers", "  of which drivers, switch matrices, muxes, decoders, ReLU, pooling"),
               ("buffer", "  of which buffers"),
               ("ic", "  of which interconnect"))


def energy_table(n: dict[str, Any], r: dict[str, Any]) -> str:
    rows = []
    neurosim_drivers = n["energy_other"] - n["energy_buffer"] - n["energy_ic"]
    for key, label in ENERGY_ROWS:
        theirs = neurosim_drivers if key == "drivers" else n[f"energy_{key}"]
        mine = r[f"energy_{key}"]
        rows.append({"dynamic energy per image (uJ)": label, "NeuroSim": theirs / 1e6, "resim": mine / 1e6,
                     "resim / NeuroSim": compared(mine, theirs), "resim static (uJ)": r[f"static_{key}"] / 1e6})
    both = n["energy_dynamic"] + n["energy_leakage"]
    for label, theirs, mine in (("dynamic, total", n["energy_dynamic"], r["energy_dynamic"]),
                                ("leakage", n["energy_leakage"], r["energy_leakage"]),
                                ("total (dynamic + leakage)", both, r["energy_total"])):
        rows.append({"dynamic energy per image (uJ)": label, "NeuroSim": theirs / 1e6, "resim": mine / 1e6,
                     "resim / NeuroSim": compared(mine, theirs), "resim static (uJ)": float("nan")})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def latency_table(n: dict[str, Any], r: dict[str, Any]) -> str:
    rows = [{"latency per image (us)": "one image, layer by layer", "NeuroSim": n["latency_ns"] / 1e3,
             "resim": r["latency_ns"] / 1e3, "resim / NeuroSim": compared(r["latency_ns"], n["latency_ns"])},
            {"latency per image (us)": "read cycle (ns)", "NeuroSim": n["clock_ns"], "resim": r["cycle_ns"],
             "resim / NeuroSim": compared(r["cycle_ns"], n["clock_ns"])}]
    for key, label in (("adc", "NeuroSim: of which ADC"), ("accum", "NeuroSim: of which accumulation"),
                       ("other", "NeuroSim: of which other peripheries"), ("buffer", "NeuroSim: buffer (within other)"),
                       ("ic", "NeuroSim: interconnect (within other)")):
        rows.append({"latency per image (us)": label, "NeuroSim": n[f"latency_{key}_ns"] / 1e3, "resim": float("nan"),
                     "resim / NeuroSim": ""})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def area_table(n: dict[str, Any], r: dict[str, Any]) -> str:
    rows = []
    for key, label in (("array", "CIM arrays (cells)"), ("adc", "ADC (resim: ADC + S&H)"),
                       ("accum", "accumulation"), ("ic", "interconnect (resim: bus, routers)"),
                       ("other", "other peripheries (resim: drivers, buffers)")):
        rows.append({"area (mm^2)": label, "NeuroSim": n[f"area_{key}"] / 1e6, "resim": r[f"area_{key}"] / 1e6,
                     "resim / NeuroSim": compared(r[f"area_{key}"], n[f"area_{key}"])})
    rows.append({"area (mm^2)": "chip", "NeuroSim": n["area_total"] / 1e6, "resim": r["area_total"] / 1e6,
                 "resim / NeuroSim": compared(r["area_total"], n["area_total"])})
    rows.append({"area (mm^2)": "tiles", "NeuroSim": float(sum(n["tiles"])), "resim": float(r["tiles"]),
                 "resim / NeuroSim": compared(r["tiles"], sum(n["tiles"]))})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def layers_table(n: dict[str, Any], r: dict[str, Any], exported: Exported | None) -> str:
    rows = []
    for index, theirs in enumerate(n["layers"]):
        mine = r["layers"][index] if index < len(r["layers"]) else {}
        latency = (mine.get("end_ns") or 0.0) - (mine.get("start_ns") or 0.0)
        name = mine.get("layer", f"layer{index + 1}")
        row = {"layer": name, "NeuroSim tiles": n["tiles"][index] if index < len(n["tiles"]) else math.nan,
               "NeuroSim speed-up": n["speedup"][index] if index < len(n["speedup"]) else math.nan,
               "NeuroSim latency (us)": theirs["latency_ns"] / 1e3, "resim latency (us)": latency / 1e3,
               "NeuroSim dynamic (uJ)": theirs["energy_dynamic"] / 1e6,
               "resim dynamic (uJ)": (mine.get("energy_pj") or 0.0) / 1e6}
        if exported is not None:
            row["input 1-bits"] = exported.input_ones.get(str(name), math.nan)
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def settings_table(matched: Matched) -> str:
    rows = [{"NeuroSim setting": f"Param.cpp {name}", "value": value}
            for name, value in matched.param_settings().items()]
    for name, value in zip(("synapseBit", "numBitInput", "numRowSubArray", "numRowParallel"), matched.command_args()):
        rows.append({"NeuroSim setting": f"main argv {name}", "value": value})
    return pd.DataFrame(rows).to_markdown(index=False)


def tables(n: dict[str, Any], r: dict[str, Any], exported: Exported | None = None) -> str:
    return "\n\n".join([energy_table(n, r), latency_table(n, r), area_table(n, r), layers_table(n, r, exported)])


# ----------------------------------------------------------------------------- main

def _export_child(args: argparse.Namespace, folder: Path, env: dict[str, str]) -> tuple[Exported, Run]:
    """export_inputs in a child process: a parent grown by the network and the data set would pass
    its peak memory on to the children it starts (Linux keeps the pre-exec high-water mark)."""
    files = folder / "neurosim_inputs"
    files.mkdir(exist_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--neurosim", str(args.neurosim), "--workload",
               str(args.workload), "--image", str(args.image), "--export-only", str(files)]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    run = run_child(command, Path.cwd(), env, folder / "export.log")
    data = json.loads((files / "exported.json").read_text())
    return Exported([NetRow(**row) for row in data["rows"]], data["files"], data["input_ones"]), run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurosim", type=Path, required=True,
                        help="DNN_NeuroSim_V1.4 checkout (with Inference_pytorch/NeuroSIM), outside this repository")
    parser.add_argument("--workload", type=Path, default=WORKLOAD)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--image", type=int, default=0, help="test image whose inputs NeuroSim reads (default 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for both tools' outputs and neurosim_compare.{md,json} (default: a temporary one)")
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="where NeuroSIM/ is copied and built (reused between runs; default: inside --out)")
    parser.add_argument("--jobs", type=int, default=2, help="make -j (default 2)")
    parser.add_argument("--neurosim-log", type=Path, default=None,
                        help="reuse NeuroSim's printed output of an earlier run (its neurosim.log) instead of building "
                             "and running it: refreshes resim's side only")
    parser.add_argument("--export-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workload = load_workload(args.workload)
    try:
        matched = Matched.of(workload)
    except ValueError as exc:
        parser.error(str(exc))
    if args.export_only is not None:
        written = export_inputs(workload, args.data_dir, args.image, args.export_only)
        (args.export_only / "exported.json").write_text(json.dumps(
            {"rows": [asdict(row) for row in written.rows], "files": written.files,
             "input_ones": written.input_ones}, indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="neurosim_compare_") as tmp:
        folder = (args.out or Path(tmp)).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "RESIM_CACHE": str(folder / "cache")}
        exported: Exported | None = None
        export: Run | None = None
        if args.neurosim_log is not None:
            stdout = args.neurosim_log.read_text()
            neurosim = Run(stdout, _first(r"Total Run-time of NeuroSim: (\d+) seconds", stdout), math.nan)
        else:
            build_dir = (args.build_dir or folder / "build").resolve()
            build_dir.mkdir(parents=True, exist_ok=True)
            binary = build_neurosim(args.neurosim.resolve(), build_dir, matched.param_settings(), args.jobs,
                                    folder / "neurosim_build.log")
            exported, export = _export_child(args, folder, env)
            network = folder / "neurosim_inputs" / "NetWork.csv"
            neurosim = run_child(["nice", "-n", "10", str(binary), str(network), *matched.command_args(),
                                  *exported.files], binary.parent, env, folder / "neurosim.log")
        resim_cmd = [sys.executable, "-m", "simulator.cli", "run", str(args.workload), "--no-accuracy", "--quiet",
                     "--out", str(folder / "resim")]
        if args.data_dir:
            resim_cmd += ["--data-dir", str(args.data_dir)]
        resim = run_child(resim_cmd, Path.cwd(), env, folder / "resim.log")
        report = json.loads((folder / "resim" / "report.json").read_text())
        n, r = parse_neurosim(neurosim.stdout), resim_figures(report)
        source = f"NeuroSim's output {args.neurosim_log}" if args.neurosim_log else f"NeuroSim from {args.neurosim}"
        lines = [f"# DNN+NeuroSim V1.4 vs resim: VGG8 / CIFAR-10 ({args.workload.name}, {workload.hardware.name})\n",
                 f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {machine()}; {source}; "
                 f"test image {args.image}\n",
                 "Shared settings written to NeuroSim's Param.cpp and command line:\n", settings_table(matched),
                 f"\n{tables(n, r, exported)}\n",
                 f"** differs by more than {THRESHOLD:.0%} (explained in docs/validation.md)\n",
                 pd.DataFrame([{"tool": "NeuroSim V1.4 (C++ core, reading its input files)",
                                "wall time (s)": neurosim.seconds, "peak memory (MB)": neurosim.peak_mb},
                               {"tool": "resim run --no-accuracy", "wall time (s)": resim.seconds,
                                "peak memory (MB)": resim.peak_mb}]).to_markdown(index=False, floatfmt=".3g")]
        if export is not None:
            lines[-1] += (f"\n\nWriting NeuroSim's files (resim's network, calibration, test image; a child process): "
                          f"{export.seconds:.3g} s, {export.peak_mb:.3g} MB.")
        text = "\n".join(lines)
        print(text)
        if args.out:
            (folder / "neurosim_compare.md").write_text(text + "\n")
            (folder / "neurosim_compare.json").write_text(json.dumps(
                {"neurosim": n, "resim": r, "settings": asdict(matched),
                 "input_ones": exported.input_ones if exported else None,
                 "network": [asdict(row) for row in exported.rows] if exported else None,
                 "wall_s": {"neurosim": neurosim.seconds, "resim": resim.seconds,
                            "export": export.seconds if export else None},
                 "peak_mb": {"neurosim": neurosim.peak_mb, "resim": resim.peak_mb,
                             "export": export.peak_mb if export else None}}, indent=1, default=float))


if __name__ == "__main__":
    main()
