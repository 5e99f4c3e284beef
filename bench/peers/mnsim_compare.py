"""MNSIM 2.0 and resim side by side on dense VGG-16 / CIFAR-10 at matched settings (issue #15 item 2).

    python bench/peers/mnsim_compare.py --mnsim /path/to/MNSIM-2.0 --data-dir ../shared/data

MNSIM 2.0 (thu-nics/MNSIM-2.0, obtained separately; nothing of it is in this repository) is run
from PATH on its own `vgg16` with a SimConfig.ini this script writes to a temporary folder: MNSIM's
own SimConfig.ini with the keys below replaced by the values of resim's hardware file
(bench/peers/prime_mnsim_matched.yaml), so both tools read the same numbers:

    Xbar_Size, Subarray_Size      array rows x cols
    Device_Level                  2 ** cell_bits (MNSIM counts levels, not bits)
    Device_Resistance             Device_Level values from r_off_ohm down to r_on_ohm (geometric)
    Read_Latency                  array.read_latency_ns
    Read_Voltage                  0, V with V chosen so that MNSIM's cell read energy
                                  (0.1 V^2 / R_avg x Read_Latency, Device.py) equals
                                  array.read_energy_pj_per_cell
    Device_Area                   array.area_um2 / (rows x cols)
    DAC_* (user defined, -1)      dac.bits; power = one_bit_energy_pj x 2^(bits-1) per read_latency_ns;
                                  area = one_bit_area_um2 x 2^(bits-1); 1 GS/s (MNSIM's for every DAC)
    ADC_* (user defined, -1)      adc.bits; power = energy_pj_by_bits[bits] x sample_rate_gsps;
                                  area_um2_by_bits[bits]; sample_rate_gsps
    DAC_Num, ADC_Num              rows (a driver per wordline); cols / columns_per_adc per subarray
    Xbar_Polarity, Sub_Position   2 for two polarities (encoding two-column), 0 for analog subtraction
    PE_Num                        tile.arrays / polarities PEs per tile
    Buffer_Technology, _Bitwidth  technology_nm, buffer.access_bits

Its output is parsed; resim runs `resim run bench/peers/vgg16_mnsim.yaml --no-accuracy` (the same
layer list, bench/peers/mnsim_vgg16.py) with an empty mapping cache, so both map from scratch.
Both run as child processes of this script, one after the other; wall time and peak resident
memory are each child's own (os.wait4). The table gives energy by component, latency and area
side by side, and the per-event figures and event counts behind them; docs/validation.md explains
every difference above 25 %.

Both tools are Python: by default (--bytecode compiled) both source trees are compiled to bytecode
before the first run, as an installed package is, so no run spends its time compiling modules
(resim's 25 000 lines took 0.3 s of CPU to compile in every run where PYTHONDONTWRITEBYTECODE was
set); --bytecode none measures both compiling every module of their own from source each run.
"""

from __future__ import annotations

import argparse
import configparser
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulator.config import load_workload
from simulator.config.hardware import HardwareConfig
from simulator.mapping.encoding import get_encoding

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "vgg16_mnsim.yaml"
THRESHOLD = 0.25


# ----------------------------------------------------------------------------- MNSIM's settings

def average_resistance(levels: list[float]) -> float:
    """MNSIM 2.0 Device.py calculate_device_read_power: R = R0 R1 / (0.67 R1 + 0.33 R0) over the
    first (highest) and last (lowest) resistance."""
    r0, r1 = levels[0], levels[-1]
    return r0 * r1 / (0.67 * r1 + 0.33 * r0)


def read_voltage(energy_pj_per_cell: float, resistance_ohm: float, read_ns: float) -> float:
    """MNSIM's cell read energy is V_avg^2 / R x t with V_avg^2 = 0.9 V0^2 + 0.1 V1^2 (Device.py);
    with V0 = 0, the V1 that gives `energy_pj_per_cell`."""
    return math.sqrt(energy_pj_per_cell * 1e-12 * resistance_ohm / (0.1 * read_ns * 1e-9))


@dataclass(frozen=True)
class Matched:
    """The values both tools read, from resim's hardware file and workload."""

    rows: int
    cols: int
    cell_bits: int
    resistances: list[float]
    read_ns: float
    voltage_v: float
    cell_pj: float
    cell_area_um2: float
    dac_bits: int
    dac_mw: float
    dac_area_um2: float
    adc_bits: int
    adc_mw: float
    adc_gsps: float
    adc_area_um2: float
    adcs_per_array: int
    polarities: int
    analog_subtraction: bool
    pes_per_tile: int
    technology_nm: int
    buffer_bits: int
    weight_bits: int
    input_bits: int
    shared_pair: bool = False    # composition.pair_periphery shared: a pair's arrays share drivers and ADCs

    @classmethod
    def of(cls, hw: HardwareConfig, weight_bits: int, encoding: str) -> Matched:
        a, d, c = hw.array, hw.dac, hw.adc
        if (c.resolution != "fixed" or c.energy_model != "table" or c.sample_rate_rule != "fixed"
                or c.sample_rate_gsps is None):
            raise ValueError(f"{hw.name}: a matched ADC needs resolution fixed, energy_model table, "
                             "sample_rate_rule fixed (MNSIM's ADC is one part at one rate)")
        if d.one_bit_energy_pj is None or d.one_bit_area_um2 is None:
            raise ValueError(f"{hw.name}: dac.one_bit_energy_pj and one_bit_area_um2 are needed")
        levels = 2 ** a.cell_bits
        resistances = [a.r_off_ohm * (a.r_on_ohm / a.r_off_ohm) ** (i / (levels - 1)) for i in range(levels)]
        read_ns = a.read_latency_ns or hw.cycle_ns
        scale = 2 ** (d.bits - 1)
        polarities = get_encoding(encoding).polarities
        return cls(rows=a.rows, cols=a.cols, cell_bits=a.cell_bits, resistances=resistances, read_ns=read_ns,
                   voltage_v=read_voltage(a.read_energy_pj_per_cell, average_resistance(resistances), read_ns),
                   cell_pj=a.read_energy_pj_per_cell, cell_area_um2=a.area_um2 / (a.rows * a.cols),
                   dac_bits=d.bits, dac_mw=d.one_bit_energy_pj * scale / read_ns,
                   dac_area_um2=d.one_bit_area_um2 * scale, adc_bits=c.bits,
                   adc_mw=c.energy_pj_by_bits[c.bits] * c.sample_rate_gsps, adc_gsps=c.sample_rate_gsps,
                   adc_area_um2=c.area_um2_by_bits[c.bits], adcs_per_array=a.cols // c.columns_per_adc,
                   polarities=polarities, analog_subtraction=hw.composition.polarity == "analog",
                   pes_per_tile=hw.tile.arrays // polarities, technology_nm=hw.technology_nm,
                   buffer_bits=hw.buffer.access_bits, weight_bits=weight_bits, input_bits=hw.input_bits,
                   shared_pair=polarities > 1 and hw.composition.pair_periphery == "shared")

    def pe_grid(self) -> str:
        """PE_Num as x,y: the most square split of pes_per_tile."""
        x = max(i for i in range(1, int(math.isqrt(self.pes_per_tile)) + 1) if self.pes_per_tile % i == 0)
        return f"{x},{self.pes_per_tile // x}"

    def simconfig(self, base: Path) -> configparser.ConfigParser:
        """MNSIM's own SimConfig.ini with the matched keys replaced."""
        config = configparser.ConfigParser()
        config.optionxform = str                 # type: ignore[assignment,method-assign]  # keep MNSIM's key case
        if not config.read(base, encoding="utf-8"):
            raise FileNotFoundError(f"{base}: MNSIM's SimConfig.ini not found")
        settings = {
            "Device level": {"Device_Level": str(2 ** self.cell_bits),
                             "Device_Resistance": ", ".join(f"{r:.6g}" for r in self.resistances),
                             "Read_Level": "2", "Read_Voltage": f"0,{self.voltage_v:.6g}",
                             "Read_Latency": f"{self.read_ns:g}", "Device_Area": f"{self.cell_area_um2:.6g}"},
            "Crossbar level": {"Xbar_Size": f"{self.rows},{self.cols}", "Subarray_Size": str(self.rows)},
            "Interface level": {"DAC_Choice": "-1", "DAC_Precision": str(self.dac_bits),
                                "DAC_Power": f"{self.dac_mw * 1e-3:.6g}", "DAC_Area": f"{self.dac_area_um2:.6g}",
                                "DAC_Sample_Rate": "1",
                                "ADC_Choice": "-1", "ADC_Precision": str(self.adc_bits),
                                "ADC_Power": f"{self.adc_mw * 1e-3:.6g}", "ADC_Area": f"{self.adc_area_um2:.6g}",
                                "ADC_Sample_Rate": f"{self.adc_gsps:g}"},
            "Process element level": {"Xbar_Polarity": str(self.polarities),
                                      "Sub_Position": "0" if self.analog_subtraction else "1",
                                      "Group_Num": "1", "DAC_Num": str(self.rows), "ADC_Num": str(self.adcs_per_array)},
            "Tile level": {"PE_Num": self.pe_grid()},
            "Architecture level": {"Buffer_Technology": str(self.technology_nm),
                                   "Buffer_Bitwidth": str(self.buffer_bits)},
        }
        for section, values in settings.items():
            for key, value in values.items():
                if not config.has_option(section, key):
                    raise KeyError(f"{base}: no [{section}] {key}; is this MNSIM 2.0?")
                config.set(section, key, value)
        return config

    # MNSIM's per-event figures (pJ): power x its stated duration.
    def mnsim_adc_pj(self) -> float:
        """ADC.py: latency = (bits + 2) / rate, energy = latency x power."""
        return self.adc_mw * (self.adc_bits + 2) / self.adc_gsps

    def mnsim_dac_pj(self) -> float:
        """DAC.py: latency = (bits + 2) / 1 GS/s, energy = latency x power."""
        return self.dac_mw * (self.dac_bits + 2)


# ----------------------------------------------------------------------------- running both

@dataclass(frozen=True)
class Run:
    stdout: str
    seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0     # user + system time of the child (os.wait4)


def run_child(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Run:
    """Run `command` as a child; its own wall time and peak resident memory (os.wait4)."""
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}); last lines:\n"
                           + "\n".join(text.splitlines()[-15:]))
    return Run(text, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)   # ru_maxrss in KiB


NUMBER = r"([-+0-9.eE]+)"


def first(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"MNSIM's output has no line matching {pattern!r}")
    return float(match.group(1))


def layer_sum(label: str, text: str) -> float:
    return sum(float(v) for v in re.findall(rf"^\s*{label} of layer \d+ : {NUMBER}", text, flags=re.M))


def parse_mnsim(text: str) -> dict[str, float]:
    """MNSIM's totals (energies in pJ, area in um^2, latency in ns) from its printed report."""
    energy = text[text.index("Energy Results"):]
    area = text[text.index("Area Results"):]
    out = {"crossbars": first(r"Total crossbar number: (\d+)", text),
           "latency_ns": first(rf"Entire latency: {NUMBER} ns", text),
           "energy_total": first(rf"Hardware energy: {NUMBER} nJ", energy) * 1e3,
           "area_total": first(rf"Hardware area: {NUMBER} um\^2", area)}
    for key, label in (("crossbar", "crossbar"), ("dac", "DAC"), ("adc", "ADC"), ("buffer", "Buffer"),
                       ("pooling", "Pooling"), ("digital", "Other digital part"), ("noc", "NoC part")):
        out[f"energy_{key}"] = first(rf"{label} energy: {NUMBER} nJ", energy) * 1e3
        if key != "noc":
            out[f"area_{key}"] = first(rf"{label} area: {NUMBER} um\^2", area)
    for key, label in (("buffer", "Buffer latency"), ("buffer_read", "read buffer latency"),
                       ("buffer_write", "write buffer latency"), ("computing", "Computing latency"),
                       ("xbar", "xbar latency"), ("dac", "DAC latency"), ("adc", "ADC latency"),
                       ("digital", "Digital part latency"), ("inter_tile", "Inter tile communication latency")):
        out[f"sum_{key}_ns"] = layer_sum(label, text)
    return out


def resim_figures(report: dict) -> dict[str, float]:
    """resim's totals (pJ, um^2, ns) by the rows of the side-by-side table."""
    hw = report["hardware"]
    comps = {c["component"]: c for c in hw["components"]}

    def dyn(*names: str) -> float:
        return sum(comps[n]["dynamic_pj"] for n in names if n in comps)

    def static(*names: str) -> float:
        return sum(comps[n]["static_pj"] for n in names if n in comps)

    def area(*names: str) -> float:
        return sum(comps[n]["area_um2"] for n in names if n in comps)

    groups = {"crossbar": ("array", "bitline"), "dac": ("dac",), "adc": ("adc",), "sample_hold": ("sample_hold",),
              "buffer": ("buffer", "bus"),
              "digital": ("shift_add", "composition_tree", "index_registers", "activation", "input_registers",
                          "output_registers"),
              "pooling": ("max_pool",), "noc": ("router", "network_wire")}
    out = {"latency_ns": hw["summary"]["latency_ns"], "energy_total": hw["summary"]["energy_per_inference_pj"],
           "area_total": hw["summary"]["area_mm2"] * 1e6, "arrays": hw["summary"]["arrays_mapped"],
           "tiles": hw["summary"]["tiles"]}
    for key, names in groups.items():
        out[f"dynamic_{key}"], out[f"static_{key}"], out[f"area_{key}"] = dyn(*names), static(*names), area(*names)
    out["events_adc"] = comps["adc"]["events"]
    out["events_dac"] = comps["dac"]["events"]
    out["events_cells"] = comps["array"]["events"]
    out["pj_adc"] = comps["adc"]["energy_per_event_pj"]
    out["pj_dac"] = comps["dac"]["energy_per_event_pj"]
    out["leak_adc_mw"] = comps["adc"]["leakage_mw"]
    out["buffer_bits"] = comps["buffer"]["events"] * 8
    return out


# ----------------------------------------------------------------------------- the table

def ratio(a: float, b: float) -> float:
    return a / b if b else math.inf


def compared(mine: float, theirs: float) -> str:
    """resim / MNSIM, starred above the threshold."""
    value = ratio(mine, theirs)
    return f"{value:.3g}" + ("" if abs(value - 1) <= THRESHOLD else " **")


ROWS = {"crossbar": "crossbar (cells + bitlines)", "dac": "DAC / wordline drivers", "adc": "ADC",
        "sample_hold": "sample-and-hold", "buffer": "buffers (resim: eDRAM + bus)",
        "digital": "digital (shift-add, registers, muxes)", "pooling": "pooling", "noc": "network"}


def energy_table(m: dict[str, float], r: dict[str, float]) -> str:
    rows = []
    for key, label in ROWS.items():
        dynamic, static = r.get(f"dynamic_{key}", 0.0), r.get(f"static_{key}", 0.0)
        rows.append({"energy per inference (uJ)": label, "MNSIM": m.get(f"energy_{key}", 0.0) / 1e6,
                     "resim dynamic": dynamic / 1e6, "resim static": static / 1e6,
                     "resim total": (dynamic + static) / 1e6,
                     "resim / MNSIM": compared(dynamic + static, m.get(f"energy_{key}", 0.0))})
    dynamic = sum(r.get(f"dynamic_{k}", 0.0) for k in ROWS)
    static = sum(r.get(f"static_{k}", 0.0) for k in ROWS)
    rows.append({"energy per inference (uJ)": "total", "MNSIM": m["energy_total"] / 1e6, "resim dynamic": dynamic / 1e6,
                 "resim static": static / 1e6, "resim total": r["energy_total"] / 1e6,
                 "resim / MNSIM": compared(r["energy_total"], m["energy_total"])})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def area_table(m: dict[str, float], r: dict[str, float]) -> str:
    rows = []
    for key, label in ROWS.items():
        if key == "sample_hold":
            continue
        theirs = m.get(f"area_{key}", 0.0)
        mine = r.get(f"area_{key}", 0.0) + (r.get("area_sample_hold", 0.0) if key == "digital" else 0.0)
        rows.append({"area (mm^2)": label, "MNSIM": theirs / 1e6, "resim": mine / 1e6,
                     "resim / MNSIM": compared(mine, theirs) if theirs else "-"})
    rows.append({"area (mm^2)": "total", "MNSIM": m["area_total"] / 1e6, "resim": r["area_total"] / 1e6,
                 "resim / MNSIM": compared(r["area_total"], m["area_total"])})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def latency_table(m: dict[str, float], r: dict[str, float]) -> str:
    rows = [{"latency (us)": "one inference", "MNSIM": m["latency_ns"] / 1e3, "resim": r["latency_ns"] / 1e3,
             "resim / MNSIM": compared(r["latency_ns"], m["latency_ns"])}]
    for key, label in (("computing", "computing (crossbar + DAC + ADC)"), ("xbar", "  of which crossbar reads"),
                       ("buffer", "buffers"), ("digital", "digital"), ("inter_tile", "inter-tile")):
        rows.append({"latency (us)": f"MNSIM, summed over layers: {label}", "MNSIM": m[f"sum_{key}_ns"] / 1e3,
                     "resim": float("nan"), "resim / MNSIM": ""})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def events_table(m: dict[str, float], r: dict[str, float], matched: Matched) -> str:
    """The per-event figures and event counts behind the energy rows."""
    phases = math.ceil(matched.input_bits / matched.dac_bits)
    steps = matched.cols // matched.adcs_per_array               # MNSIM reads once per ADC multiplexer step
    buffer_bits = (m["sum_buffer_read_ns"] + m["sum_buffer_write_ns"]) / 20.0 * matched.buffer_bits
    resistance = average_resistance(matched.resistances)

    def row(label: str, theirs: float, mine: float, note: str) -> dict[str, object]:
        return {"per event and counts": label, "MNSIM": theirs, "resim": mine, "resim / MNSIM": compared(mine, theirs),
                "how": note}
    return pd.DataFrame([
        row("crossbars (arrays)", m["crossbars"] * matched.polarities, r["arrays"],
            "MNSIM: 'Total crossbar number' x Xbar_Polarity"),
        row("cell read energy (fJ)", matched.cell_pj * 1e3, matched.cell_pj * 1e3,
            f"matched: MNSIM Read_Voltage {matched.voltage_v:.4g} V at its R_avg {resistance:.4g} ohm"),
        row("cell reads (1e6)", m["energy_crossbar"] / matched.cell_pj / 1e6, r["events_cells"] / 1e6,
            "MNSIM: crossbar energy / cell energy"),
        row("ADC energy per conversion (pJ)", matched.mnsim_adc_pj(), r["pj_adc"],
            "MNSIM: P (bits + 2) / rate; resim: P / rate x (1 - leakage_share)"),
        row("ADC conversions (1e6)", m["energy_adc"] / matched.mnsim_adc_pj() / 1e6, r["events_adc"] / 1e6,
            "MNSIM: ADC energy / its energy per conversion"),
        row("DAC on-time per row and input phase (ns)", steps * (matched.dac_bits + 2) / 1.0,
            matched.read_ns * (1 if matched.shared_pair else matched.polarities),
            f"MNSIM: (bits + 2) ns at each of {steps} ADC steps; resim: one read, "
            + ("the pair's shared driver" if matched.shared_pair else "on each polarity's array")),
        row("DAC energy per drive (pJ)", matched.mnsim_dac_pj(), r["pj_dac"],
            "MNSIM: P (bits + 2) ns; resim: P x read x (1 - leakage_share) + wordline C V^2"),
        row("DAC drive-equivalents (1e6)", m["energy_dac"] / matched.mnsim_dac_pj() / 1e6, r["events_dac"] / 1e6,
            f"MNSIM: DAC energy / its energy per drive; resim: rows x "
            f"{'polarity pairs' if matched.shared_pair else 'arrays'} x {phases} phases"),
        row("buffer bits moved (1e6)", buffer_bits / 1e6, r["buffer_bits"] / 1e6,
            f"MNSIM: its buffer latencies / 20 ns x {matched.buffer_bits} bits"),
        row("buffer energy per bit moved (pJ)", m["energy_buffer"] / max(buffer_bits, 1),
            (r["dynamic_buffer"] + r["static_buffer"]) / max(r["buffer_bits"], 1),
            "all buffer energy, leakage included, over the bits"),
    ]).to_markdown(index=False, floatfmt=".4g")


def tables(m: dict[str, float], r: dict[str, float], matched: Matched) -> str:
    return "\n\n".join([energy_table(m, r), latency_table(m, r), area_table(m, r), events_table(m, r, matched)])


def settings_table(matched: Matched, simconfig: configparser.ConfigParser) -> str:
    keys = [("Crossbar level", "Xbar_Size"), ("Device level", "Device_Level"), ("Device level", "Device_Resistance"),
            ("Device level", "Read_Voltage"), ("Device level", "Read_Latency"), ("Device level", "Device_Area"),
            ("Interface level", "DAC_Precision"), ("Interface level", "DAC_Power"),
            ("Interface level", "ADC_Precision"), ("Interface level", "ADC_Power"),
            ("Interface level", "ADC_Sample_Rate"), ("Interface level", "ADC_Area"),
            ("Process element level", "Xbar_Polarity"), ("Process element level", "Sub_Position"),
            ("Process element level", "DAC_Num"), ("Process element level", "ADC_Num"), ("Tile level", "PE_Num"),
            ("Architecture level", "Buffer_Technology"), ("Architecture level", "Buffer_Bitwidth")]
    rows = [{"MNSIM key": f"[{s}] {k}", "value": simconfig.get(s, k)} for s, k in keys]
    rows.append({"MNSIM key": "weights / activations (MNSIM network.py, fixed)",
                 "value": f"{matched.weight_bits} / {matched.input_bits} bits (resim: weight_bits, input_bits)"})
    return pd.DataFrame(rows).to_markdown(index=False)


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores{mem}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnsim", type=Path, required=True, help="MNSIM 2.0 folder (with main.py and SimConfig.ini)")
    parser.add_argument("--mnsim-python", default=sys.executable,
                        help="interpreter for MNSIM (needs torch, numpy, pandas; default: this one)")
    parser.add_argument("--workload", type=Path, default=WORKLOAD)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep both tools' outputs in this folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of MNSIM, resim with an empty cache, resim with empty mapping and lowering "
                             "caches (the data set id, checkpoint and provenance cached), resim with an empty "
                             "mapping cache (the network's lowering cached too) and resim with every mapping "
                             "cached, one after the other in each round; medians and resim/MNSIM CPU ratios "
                             "(issue #25)")
    parser.add_argument("--bytecode", choices=("compiled", "none"), default="compiled",
                        help="compiled: both tools' sources are compiled to bytecode before the runs (python -m "
                             "compileall), as an installed package is and as any run writes it unless "
                             "PYTHONDONTWRITEBYTECODE is set; none: their __pycache__ folders are removed and "
                             "PYTHONDONTWRITEBYTECODE=1 set, so both compile every module they import from "
                             "source in every run (installed libraries such as numpy and torch keep theirs)")
    args = parser.parse_args()
    if not (args.mnsim / "main.py").is_file():
        parser.error(f"--mnsim {args.mnsim}: no main.py there (the MNSIM 2.0 checkout's root)")
    workload = load_workload(args.workload)
    mapping = workload.config.mapping
    if mapping.reorder != "none":
        parser.error(f"{args.workload}: mapping.reorder must be none (MNSIM maps every tile)")
    matched = Matched.of(workload.hardware, mapping.weight_bits, mapping.encoding)
    with tempfile.TemporaryDirectory(prefix="mnsim_compare_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        simconfig = matched.simconfig(args.mnsim / "SimConfig.ini")
        ini = folder / "SimConfig.ini"
        with open(ini, "w") as handle:
            simconfig.write(handle)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        # The resim package the children import: the one `python -m simulator.cli` finds from here.
        where = subprocess.run([sys.executable, "-c", "import simulator; print(simulator.__file__)"], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        sources = [(sys.executable, Path(where).parent), (args.mnsim_python, args.mnsim)]
        if args.bytecode == "compiled":
            for python, tree in sources:
                done = subprocess.run([python, "-m", "compileall", "-q", str(tree)], env=env,
                                      stdout=subprocess.DEVNULL)
                if done.returncode != 0:    # a read-only tree (an installed package has its bytecode)
                    print(f"note: compileall could not compile all of {tree}", file=sys.stderr)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            for _, tree in sources:
                for cached in sorted(tree.rglob("__pycache__"), reverse=True):
                    shutil.rmtree(cached)
        mnsim_cmd = [args.mnsim_python, "main.py", "-NN", "vgg16", "-DisAccu", "-D", "-1", "-HWdes", str(ini)]
        resim_cmd = [sys.executable, "-m", "simulator.cli", "run", str(args.workload), "--no-accuracy", "--quiet",
                     "--out", str(folder / "resim")]
        if args.data_dir:
            resim_cmd += ["--data-dir", str(args.data_dir)]
        rounds: dict[str, list[Run]] = {"MNSIM 2.0": [], "resim, empty cache": [],
                                        "resim, empty mapping and lowering caches": [],
                                        "resim, empty mapping cache": [], "resim, mappings cached": []}
        for index in range(max(args.repeat, 1)):
            cache = folder / f"cache{index}"
            resim_env = {**env, "RESIM_CACHE": str(cache)}
            rounds["MNSIM 2.0"].append(run_child(mnsim_cmd, args.mnsim, env, folder / "mnsim.log"))
            rounds["resim, empty cache"].append(run_child(resim_cmd, Path.cwd(), resim_env, folder / "resim.log"))
            if args.repeat > 1:
                # Without the lowering too, the network is loaded again (torch and its checkpoint)
                # and lowered to the matrices the mapper reads; with it, mapping starts from those.
                shutil.rmtree(cache / "mappings")
                shutil.rmtree(cache / "lowered")
                rounds["resim, empty mapping and lowering caches"].append(
                    run_child(resim_cmd, Path.cwd(), resim_env, folder / "resim_lowered.log"))
                shutil.rmtree(cache / "mappings")
                rounds["resim, empty mapping cache"].append(
                    run_child(resim_cmd, Path.cwd(), resim_env, folder / "resim_mapped.log"))
                rounds["resim, mappings cached"].append(
                    run_child(resim_cmd, Path.cwd(), resim_env, folder / "resim_cached.log"))
                shutil.rmtree(cache)
        mnsim, resim = rounds["MNSIM 2.0"][0], rounds["resim, empty cache"][0]
        report = json.loads((folder / "resim" / "report.json").read_text())
    m, r = parse_mnsim(mnsim.stdout), resim_figures(report)
    print(f"# MNSIM 2.0 vs resim: dense VGG-16 / CIFAR-10 ({args.workload.name}, {workload.hardware.name})\n")
    print(f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {machine()}; MNSIM from {args.mnsim}; "
          f"bytecode: {args.bytecode}\n")
    print("Shared settings written to MNSIM's SimConfig.ini:\n")
    print(settings_table(matched, simconfig))
    print(f"\n{tables(m, r, matched)}\n")
    print(f"** differs by more than {THRESHOLD:.0%} (explained in docs/validation.md)\n")
    if args.repeat <= 1:
        print(pd.DataFrame([{"tool": "MNSIM 2.0", "wall time (s)": mnsim.seconds, "peak memory (MB)": mnsim.peak_mb},
                            {"tool": "resim", "wall time (s)": resim.seconds, "peak memory (MB)": resim.peak_mb}]
                           ).to_markdown(index=False, floatfmt=".3g"))
        return
    print(timing_table(rounds))


def timing_table(rounds: dict[str, list[Run]]) -> str:
    """Median wall and CPU time per kind of run over the rounds, each resim kind's CPU time over
    MNSIM's in the same round (median of the per-round ratios, and their range)."""
    mnsim = rounds["MNSIM 2.0"]
    rows = []
    for label, runs in rounds.items():
        ratios = [run.cpu_seconds / theirs.cpu_seconds for run, theirs in zip(runs, mnsim)]
        rows.append({"run": label, "rounds": len(runs),
                     "wall (s), median": statistics.median(r.seconds for r in runs),
                     "CPU (s), median": statistics.median(r.cpu_seconds for r in runs),
                     "CPU (s), all": ", ".join(f"{r.cpu_seconds:.2f}" for r in runs),
                     "peak memory (MB)": max(r.peak_mb for r in runs),
                     "CPU / MNSIM's, median (range)": "-" if label == "MNSIM 2.0" else
                     f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g")


if __name__ == "__main__":
    main()
