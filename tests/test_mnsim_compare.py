"""bench/peers/mnsim_compare.py without MNSIM: the translation of resim's matched hardware file into
MNSIM 2.0's SimConfig.ini keys, and the parsing of MNSIM's printed report (issue #15 item 2)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from simulator.config import load_workload

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("mnsim_compare", REPO / "bench" / "peers" / "mnsim_compare.py")
assert SPEC is not None and SPEC.loader is not None
compare = importlib.util.module_from_spec(SPEC)
sys.modules["mnsim_compare"] = compare          # dataclasses look their module up while the file runs
SPEC.loader.exec_module(compare)

# The sections and keys of MNSIM 2.0's SimConfig.ini that the script replaces (values are MNSIM's defaults).
BASE_INI = """[Device level]
Device_Level = 2
Device_Resistance = 1e6, 1e4
Read_Level = 2
Read_Voltage = 0,0.15
Read_Latency = 3.16
Device_Area = 1.44
[Crossbar level]
Xbar_Size = 256,256
Subarray_Size = 256
[Interface level]
DAC_Choice = 1
DAC_Precision = 0
DAC_Power = 0
DAC_Area = 0
DAC_Sample_Rate = 0
ADC_Choice = 6
ADC_Precision = 0
ADC_Power = 0
ADC_Area = 0
ADC_Sample_Rate = 0
[Process element level]
Xbar_Polarity = 2
Sub_Position = 0
Group_Num = 1
DAC_Num = 128
ADC_Num = 128
[Tile level]
PE_Num = 2,2
[Architecture level]
Buffer_Technology = 90
Buffer_Bitwidth = 64
"""


@pytest.fixture(scope="module")
def matched():
    workload = load_workload(REPO / "bench" / "peers" / "vgg16_mnsim.yaml")
    return compare.Matched.of(workload.hardware, workload.config.mapping.weight_bits, workload.config.mapping.encoding)


def test_matched_settings_come_from_the_hardware_file(matched, tmp_path: Path) -> None:
    base = tmp_path / "SimConfig.ini"
    base.write_text(BASE_INI)
    ini = matched.simconfig(base)
    assert ini.get("Crossbar level", "Xbar_Size") == "256,256"
    assert ini.get("Device level", "Device_Level") == "2"                    # 1-bit cells: 2 levels
    assert ini.get("Device level", "Device_Resistance") == "20000, 1000"
    assert ini.get("Process element level", "ADC_Num") == "8"                # 256 / 32 bitlines per ADC
    assert ini.get("Process element level", "DAC_Num") == "256"
    assert ini.get("Tile level", "PE_Num") == "4,8"                          # 64 arrays = 32 polarity pairs
    # MNSIM's PE gives DAC_Num drivers and ADC_Num ADCs to a polarity pair, as PRIME does (Sec. III-A1):
    # the matched file shares them too (chip model v3's pair_periphery), or resim counts both twice.
    assert matched.shared_pair
    assert float(ini.get("Interface level", "ADC_Power")) == pytest.approx(1.26e-3)
    assert float(ini.get("Interface level", "DAC_Power")) == pytest.approx(0.3906e-12 * 4 / 100e-9)
    # MNSIM's cell read energy (Device.py: 0.1 V^2 / R_avg x Read_Latency) gives back resim's 1.831 fJ.
    volts = float(ini.get("Device level", "Read_Voltage").split(",")[1])
    resistance = compare.average_resistance([20000.0, 1000.0])
    assert resistance == pytest.approx(20000 * 1000 / (0.67 * 1000 + 0.33 * 20000))
    assert 0.1 * volts**2 / resistance * 100e-9 == pytest.approx(1.831e-15, rel=1e-4)
    # MNSIM's conventions: (bits + 2) periods per conversion and per drive.
    assert matched.mnsim_adc_pj() == pytest.approx(1.26 * 8)
    assert matched.mnsim_dac_pj() == pytest.approx(0.3906 * 4 / 100 * 5, rel=1e-3)


def test_a_simconfig_without_a_key_is_refused(matched, tmp_path: Path) -> None:
    base = tmp_path / "SimConfig.ini"
    base.write_text(BASE_INI.replace("ADC_Num = 128\n", ""))
    with pytest.raises(KeyError, match="ADC_Num"):
        matched.simconfig(base)


def test_mnsim_report_is_parsed() -> None:
    text = """Total crossbar number: 2040
Layer 0  type: conv
Buffer latency of layer 0 : 100 ( 1.0 %)
     read buffer latency of layer 0 : 60 ( 1.0 %)
     write buffer latency of layer 0 : 40 ( 1.0 %)
Computing latency of layer 0 : 30 ( 1.0 %)
     DAC latency of layer 0 : 5 ( 1.0 %)
     ADC latency of layer 0 : 8 ( 1.0 %)
     xbar latency of layer 0 : 17 ( 1.0 %)
Digital part latency of layer 0 : 2 ( 1.0 %)
Inter tile communication latency of layer 0 : 3 ( 1.0 %)
Layer 1  type: fc
Buffer latency of layer 1 : 10 ( 1.0 %)
     read buffer latency of layer 1 : 6 ( 1.0 %)
     write buffer latency of layer 1 : 4 ( 1.0 %)
Computing latency of layer 1 : 3 ( 1.0 %)
     DAC latency of layer 1 : 0.5 ( 1.0 %)
     ADC latency of layer 1 : 0.8 ( 1.0 %)
     xbar latency of layer 1 : 1.7 ( 1.0 %)
Digital part latency of layer 1 : 0.2 ( 1.0 %)
Inter tile communication latency of layer 1 : 0.3 ( 1.0 %)
Entire latency: 120.5 ns
========================Area Results=================================
Hardware area: 1000.0 um^2
\t\tcrossbar area: 600.0 um^2
\t\tDAC area: 10.0 um^2
\t\tADC area: 100.0 um^2
\t\tBuffer area: 200.0 um^2
\t\tPooling area: 40.0 um^2
\t\tOther digital part area: 50.0 um^2
========================Energy Results=================================
Hardware energy: 9.5 nJ
\t\tcrossbar energy: 1.0 nJ
\t\tDAC energy: 0.5 nJ
\t\tADC energy: 3.0 nJ
\t\tBuffer energy: 4.0 nJ
\t\tPooling energy: 0.5 nJ
\t\tOther digital part energy: 0.5 nJ
\t\tNoC part energy: 0 nJ
"""
    m = compare.parse_mnsim(text)
    assert m["crossbars"] == 2040 and m["latency_ns"] == 120.5
    assert m["energy_total"] == pytest.approx(9500) and m["energy_adc"] == pytest.approx(3000)   # pJ
    assert m["area_crossbar"] == 600 and m["area_total"] == 1000
    assert m["sum_buffer_read_ns"] == pytest.approx(66) and m["sum_xbar_ns"] == pytest.approx(18.7)
    with pytest.raises(ValueError, match="Entire latency"):
        compare.parse_mnsim(text.replace("Entire latency", "Whole latency"))
