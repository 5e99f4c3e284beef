"""bench/peers/neurosim_compare.py without NeuroSim (issue #23 item 8): the Param.cpp settings taken
from resim's matched hardware file, the network / weight / input files in the form NeuroSim's C++
core reads them, and the parsing of its printed report (tests/neurosim_vgg8_output.txt, the output
of DNN+NeuroSim V1.4 @ ac828e6 on the script's VGG8 files, captured on this project's machine)."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.config import load_workload
from simulator.hardware.chip import chip_spec
from simulator.network.zoo import build_zoo_model

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("neurosim_compare", REPO / "bench" / "peers" / "neurosim_compare.py")
assert SPEC is not None and SPEC.loader is not None
compare = importlib.util.module_from_spec(SPEC)
sys.modules["neurosim_compare"] = compare       # dataclasses look their module up while the file runs
SPEC.loader.exec_module(compare)

OUTPUT = REPO / "tests" / "neurosim_vgg8_output.txt"

# NeuroSim V1.4's own Inference_pytorch/NeuroSIM/NetWork_VGG8.csv @ ac828e6 (there with CRLF line ends).
NETWORK_VGG8 = """32,32,3,3,3,128,0,1
32,32,128,3,3,128,1,1
16,16,128,3,3,256,0,1
16,16,256,3,3,256,1,1
8,8,256,3,3,512,0,1
8,8,512,3,3,512,1,1
1,1,8192,1,1,1024,0,1
1,1,1024,1,1,10,0,1
"""

# The lines of NeuroSim V1.4's Param.cpp the script rewrites, as they stand there (tabs, comments).
PARAM = """Param::Param() {
\toperationmode = 2;     \t\t// 1: conventionalSequential
\tmemcelltype = 1;        \t// 1: cell.memCellType = Type::SRAM
\tpipeline = true;            // false: layer-by-layer process --> huge leakage energy in HP
\ttechnode = 22;\t\t\t\t\t    // Technology node (nm)
\tnumRowSubArray = 128;               // # of rows in single subArray
\tnumColSubArray = 128;               // # of columns in single subArray
\tnumColMuxed = 8;                    // How many columns share 1 ADC
\tlevelOutput = 32;                   // # of levels of the multilevelSenseAmp output
\tcellBit = 1;                        // precision of memory device
\tresistanceOn = 100e3; // 6e3;               // Ron resistance
\tresistanceOff = 100e3*17;// 6e3*17;           // Roff resistance
\tif (memcelltype == 1) {
\t\tcellBit = 1;             // force cellBit = 1 for all SRAM cases
\t}
}
"""


@pytest.fixture(scope="module")
def workload():
    return load_workload(REPO / "bench" / "peers" / "vgg8_neurosim.yaml")


def test_settings_come_from_the_hardware_file(workload) -> None:
    matched = compare.Matched.of(workload)
    settings = matched.param_settings()
    assert settings["levelOutput"] == "32"               # 5-bit ADC
    assert settings["numColMuxed"] == "8"
    assert settings["technode"] == "22"
    assert settings["numRowSubArray"] == settings["numColSubArray"] == "128"
    assert settings["resistanceOn"] == "100000" and float(settings["resistanceOff"]) == 1.7e6
    assert settings["memcelltype"] == "2" and settings["pipeline"] == "false"
    assert matched.command_args() == ["8", "8", "128", "128"]


def test_settings_neurosim_cannot_share_are_refused(workload) -> None:
    mapping = workload.config.mapping.model_copy(update={"encoding": "two-column"})
    other = dataclasses.replace(workload, config=workload.config.model_copy(update={"mapping": mapping}))
    with pytest.raises(ValueError, match="offset"):
        compare.Matched.of(other)
    array = workload.hardware.array.model_copy(update={"read_voltage_v": 0.5})
    other = dataclasses.replace(workload, hardware=workload.hardware.model_copy(update={"array": array}))
    with pytest.raises(ValueError, match="0.55 V"):
        compare.Matched.of(other)


def test_param_cpp_is_patched_at_the_first_assignment_only() -> None:
    patched = compare.patch_param(PARAM, {"memcelltype": "2", "pipeline": "false", "cellBit": "2",
                                          "resistanceOff": "1.7e+06", "levelOutput": "16"})
    assert "\tmemcelltype = 2;        \t// 1: cell.memCellType = Type::SRAM" in patched
    assert "\tpipeline = false;" in patched
    assert "\tcellBit = 2;                        // precision of memory device" in patched
    assert "\t\tcellBit = 1;             // force cellBit = 1 for all SRAM cases" in patched
    assert "\tresistanceOff = 1.7e+06;// 6e3*17;" in patched
    assert "levelOutput = 16;" in patched and "levelOutput = 32" not in patched
    with pytest.raises(KeyError, match="SARADC"):
        compare.patch_param(PARAM, {"SARADC": "true"})


def test_network_csv_of_resim_vgg8_is_neurosims_own() -> None:
    model = build_zoo_model("vgg8", in_channels=3, num_classes=10, input_size=32)
    rows = compare.network_rows(model, (3, 32, 32))
    assert [row.name for row in rows] == ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "fc1", "fc2"]
    assert compare.network_csv(rows) == NETWORK_VGG8


def test_weights_read_back_as_offset_codes() -> None:
    q = np.array([[-127, -1, 0], [1, 64, 127]])
    text = compare.weight_text(q, 8)
    assert text.splitlines()[0] == "-0.9921875,-0.0078125,0.0"
    values = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    # NeuroSim Chip.cpp LoadInWeightData: (2^bits - 0) / (1 - (-1)) x (f - 1) + 2^bits, rounded half up.
    codes = np.floor(2**8 / 2 * (values - 1) + 2**8 + 0.5).astype(int)
    assert (codes == q + 128).all()
    with pytest.raises(ValueError, match="below 2"):
        compare.weight_text(np.array([[128]]), 8)


def test_inputs_are_bit_planes_most_significant_first() -> None:
    codes = np.array([[5, 0], [255, 128]])               # rows x vectors
    bits = compare.input_bits(codes, 8)
    assert bits.shape == (2, 16)
    assert compare.bits_text(bits).decode().splitlines() == [
        "0,0,0,0,0,1,0,1,0,0,0,0,0,0,0,0", "1,1,1,1,1,1,1,1,1,0,0,0,0,0,0,0"]
    assert compare.ones_share(bits) == pytest.approx(11 / 32)
    with pytest.raises(ValueError, match="0..255"):
        compare.input_bits(np.array([[256]]), 8)


def test_neurosim_report_is_parsed() -> None:
    n = compare.parse_neurosim(OUTPUT.read_text())
    assert n["mode"] == "layer-by-layer"
    assert len(n["layers"]) == 8 and len(n["tiles"]) == 8 and len(n["speedup"]) == 8
    # The chip's figures are the sums of its layers' (layer-by-layer mode, main.cpp).
    for key in ("latency_ns", "energy_dynamic", "energy_leakage", "energy_adc", "energy_accum", "energy_other",
                "energy_buffer", "energy_ic"):
        assert n[key] == pytest.approx(sum(layer[key] for layer in n["layers"]), rel=1e-4), key
    assert n["energy_adc"] + n["energy_accum"] + n["energy_other"] == pytest.approx(n["energy_dynamic"], rel=1e-4)
    assert n["area_total"] > n["area_array"] > 0
    assert n["clock_ns"] > 0 and not math.isnan(n["runtime_s"])
    with pytest.raises(ValueError, match="Summary"):
        compare.parse_neurosim(OUTPUT.read_text().split("------------------------------ Summary")[0])


def _report(adc_pj: float) -> dict:
    components = [{"component": name, "events": 1.0, "energy_per_event_pj": 1.0, "dynamic_pj": dynamic,
                   "static_pj": 1.0, "leakage_mw": 0.0, "area_um2": 10.0}
                  for name, dynamic in (("array", 5.0), ("bitline", 1.0), ("dac", 2.0), ("sample_hold", 1.0),
                                        ("adc", adc_pj), ("shift_add", 3.0), ("buffer", 4.0), ("bus", 1.0),
                                        ("router", 1.0), ("network_wire", 1.0))]
    dynamic = sum(c["dynamic_pj"] for c in components)
    return {"hardware": {"components": components, "summary": {
        "latency_ns": 100.0, "energy_per_inference_pj": dynamic + 10, "dynamic_energy_pj": dynamic,
        "static_energy_pj": 10.0, "area_mm2": 1e-4, "tiles": 2, "arrays_mapped": 3, "cycle_ns": 10.0}},
        "layers": [{"layer": "conv1", "start_ns": 0.0, "end_ns": 100.0, "energy_pj": dynamic}]}


def test_resim_components_go_into_neurosims_groups() -> None:
    r = compare.resim_figures(_report(adc_pj=10.0))
    assert r["energy_adc"] == 10.0 + 1.0 + 5.0 + 1.0          # ADC, S&H, cells, bitlines
    assert r["energy_accum"] == 3.0
    assert r["energy_other"] == 2.0 + 4.0 + 3.0
    assert (r["energy_drivers"], r["energy_buffer"], r["energy_ic"]) == (2.0, 4.0, 3.0)
    assert r["static_adc"] == 4.0
    assert r["area_ic"] == 30.0 and r["area_adc"] == 20.0


def test_table_stars_differences_above_a_quarter() -> None:
    n = compare.parse_neurosim(OUTPUT.read_text())
    r = compare.resim_figures(_report(adc_pj=n["energy_adc"]))
    r["energy_adc"] = n["energy_adc"] * 1.2                    # within 25 %
    r["energy_accum"] = n["energy_accum"] * 2.0                # outside
    table = compare.energy_table(n, r)
    adc = next(line for line in table.splitlines() if line.startswith("| ADC"))
    accum = next(line for line in table.splitlines() if line.startswith("| accumulation"))
    assert "| 1.2 " in adc and "**" not in adc
    assert "| 2 **" in accum
    assert compare.compared(1.0, 0.0) == "-"


def test_every_chip_component_is_in_one_neurosim_group(workload) -> None:
    """Chip model v3 added row decoders, column multiplexers, max-pool, activation and registers:
    each component of the matched chip must land in exactly one of NeuroSim's energy and area groups,
    or the groups' sums miss it (the v2 script left the v3 components out of "other")."""
    names = {c.name for c in chip_spec(workload.hardware, workload.hardware.array.rows).components()}
    for groups in (compare.GROUPS, compare.OTHER_PARTS):
        placed = [name for members in groups.values() for name in members]
        assert len(placed) == len(set(placed)), groups
    energy = [n for members in compare.GROUPS.values() for n in members]
    assert set(energy) == names, set(energy) ^ names
    area = [n for members in compare.AREA_GROUPS.values() for n in members]
    assert len(area) == len(set(area)) and names - set(area) <= {"bitline"}, names - set(area)
