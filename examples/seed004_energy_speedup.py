"""Seed 004's evaluation (Lin et al., ASP-DAC 2019, Sec. VI, Figs. 8-10): energy efficiency and
speed-up of sparse mapping on its 32x32-crossbar design over dense PRIME, and energy vs crossbar
size.

Two networks:
- workloads/vgg16_sparse.yaml: VGG-16 at seed 004's 7.5 % (Table I), initial weights pruned per
  layer until the GPU-trained checkpoints of issue #8 exist (random-like masks);
- the shipped narrow VGG-11 at 4 % (workloads/vgg11_narrow_cifar_sparse_4.yaml, trained,
  one-shot-improved), moved onto the same design.

Each is mapped by k-means (seed 004 Alg. 1) at 32x32 on hwconfigs/sparse_small.yaml and compared
with its dense mapping on that chip and with dense PRIME (hwconfigs/prime.yaml, 256x256); then
energy per inference is swept over crossbar sizes 16..256 (dense and k-means).

    python examples/seed004_energy_speedup.py --data-dir ../shared/data [--sizes 16,32,64,128,256]

Seed 004: 3-5x energy efficiency and 2.5-6x speed-up over PRIME; 32x32 best, 16x16 worse again.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from simulator.config import load_workload
from simulator.data.load import input_shape, load_data
from simulator.hardware.study import energy_by_layer
from simulator.mapping.setup import MappingSetup
from simulator.mapping.sweep import summary, sweep
from simulator.pipeline import run
from simulator.preparation import prepare_network

REPO = Path(__file__).resolve().parents[1]


def on_sparse_small(name: str, folder: Path) -> Path:
    """A copy of a shipped workload on seed 004's design, k-means at 32x32, PRIME as baseline."""
    doc = yaml.safe_load((REPO / "workloads" / f"{name}.yaml").read_text())
    doc["name"] = f"{name}_on_sparse_small"
    doc["hardware"] = str(REPO / "hwconfigs" / "sparse_small.yaml")
    if doc["model"].get("checkpoint"):
        doc["model"]["checkpoint"] = str((REPO / "workloads" / doc["model"]["checkpoint"]).resolve())
    doc["mapping"].update({"crossbar": {"size": 32}, "reorder": "kmeans"})
    doc["hardware_study"] = {"baseline": str(REPO / "hwconfigs" / "prime.yaml")}
    path = folder / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--sizes", default="16,32,64,128,256")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, curves = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("vgg16_sparse", "vgg11_narrow_cifar_sparse_4"):
            path = on_sparse_small(name, Path(tmp))
            _, report = run(path, data_dir=args.data_dir, out=Path(tmp) / name, progress=False, accuracy=False)
            hw = report.hardware
            assert hw.dense is not None and hw.baseline is not None
            rows.append({"network": name, "tiles placed": report.totals.tiles_placed,
                         "tiles dense": report.totals.tiles_dense,
                         "energy (uJ)": hw.summary.energy_per_inference_pj / 1e6,
                         "vs dense same chip: energy eff.": hw.dense.versus.energy_efficiency,
                         "speed-up": hw.dense.versus.speedup,
                         "vs dense PRIME: energy eff.": hw.baseline.versus.energy_efficiency,
                         "speed-up ": hw.baseline.versus.speedup})
            workload = load_workload(path)
            arrays = load_data(workload, args.data_dir)
            net = prepare_network(workload, arrays, progress=False)
            chip = workload.hardware
            per_layer = sweep(net.model, input_shape(arrays), MappingSetup.of(workload), sizes, ["none", "kmeans"],
                              columns=lambda mapped, chip=chip: energy_by_layer(mapped, chip))
            totals = summary(per_layer)
            totals.insert(0, "network", name)
            curves.append(totals[["network", "strategy", "size", "saved_fraction", "energy_uj", "latency_us"]])
    print("Sparse mapping on seed 004's 32x32 design (sparse_small) vs dense (seed 004 Figs. 9-10):")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))
    print("\nEnergy and latency per inference vs crossbar size (seed 004 Fig. 8):")
    print(pd.concat(curves).to_markdown(index=False, floatfmt=".4g"))


if __name__ == "__main__":
    main()
