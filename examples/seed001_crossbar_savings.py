"""Seed 001's saved-crossbar tables, layer by layer, beside resim's mapping of the same layers.

Seed 001 maps pruned networks onto 128 x 128 crossbars (VGG19 also 64 x 64 and 8 x 8) and lists,
per layer, the crossbars of the dense mapping and the crossbars its reordering saves ("Save"):
LeNet-5 at 4.4 %, VGG11 at 10 / 7 / 4 %, VGG16 at 4 / 2 / 1 %, ResNet18 at 4 / 2 / 1 % (the same
numbers as its 4.4 / 1.8 / 0.8 % tables) and VGG19 at 4 / 2 / 1 %. Its numbers are constants
below; resim lowers the same zoo networks (`simulator.lowering.layers`) and places their masks
with its strategies (`simulator.mapping.strategies`). For every layer it prints the crossbars
saved (dense grid minus tiles placed) by
  - seed rule: seed 001's count, dense - ceil(min(nonzero column segments, nonzero row segments)
    / N), which packs segments of different N-wide bands into one crossbar. From the seed's own
    segment counts it gives the seed's "Save" (exactly, in every layer with an all-zero segment),
    but it is not a valid crossbar mapping (docs/mapping.md, "How seed 001's steps 2-3 were read");
  - skip-empty (empty grid tiles dropped), compact (seed 001's steps, whole rows and columns
    only), kmeans (seed 004) and best (resim's greedy rectangles, or the fewest of any strategy),
    all valid mappings (`--strategies` chooses; without best the run takes 36 s instead of 2 min);
  - max: dense - lower bound (`simulator.mapping.bounds`), the most any valid mapping can save.

Masks. The trained VGG / ResNet checkpoints do not exist yet (issue #8 needs a GPU), so:
  (a) "random": where the seed gives per-layer densities (LeNet-5, VGG11 and ResNet18 at 4.4 %,
      VGG19 layer 13), every layer gets a seeded uniformly random mask at exactly that density
      (`simulator.pruning.synthetic.random_masks`; seed 001 itself models its masks so). This
      isolates the mapping from the training.
  (b) "global": global magnitude pruning at the table's density of weights redrawn per layer
      from a normal law (`simulator.pruning.synthetic.global_magnitude_masks`, as
      bench/bench_mapping.py); the layer densities it gives are printed beside the seed's.
  (c) "checkpoint": the masks of a trained workload's checkpoint: by default the shipped IMP
      LeNet-5 at 4.4 % (workloads/lenet5_mnist_sparse_4.4.yaml). Once issue #8's checkpoints
      exist, `--workload workloads/gpu/vgg19_cifar_sparse_4.yaml` (repeatable) maps their masks
      against the seed table of the same network and density instead of the synthetic ones.

    OMP_NUM_THREADS=1 python examples/seed001_crossbar_savings.py --data-dir ../shared/data

Writes results/seed001_crossbar_savings/{per_layer.csv, summary.csv, vgg19_layer13.csv} (atomically).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulator.atomic import write_text
from simulator.mapping.bounds import dense_tiles, lower_bound
from simulator.mapping.mapper import segment_counts
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.pruning.synthetic import (
    LayerMask,
    global_magnitude_masks,
    layer_shapes,
    random_masks,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STRATEGIES = ("skip-empty", "compact", "kmeans", "best")


@dataclass(frozen=True)
class SeedTable:
    """One of seed 001's crossbar tables: per layer (the seed's order), dense crossbars and
    crossbars saved; where the seed gives them, layer densities and nonzero segment counts
    (nonzero, total) of columns (an output over N inputs) and rows (an input over N outputs)."""

    model: str
    density: float          # global density of the seed's network
    label: str              # the seed's own label
    size: int
    dense: tuple[int, ...]
    saved: tuple[int, ...]
    layer_density: tuple[float | None, ...] | None = None
    nz_cols: tuple[tuple[int, int], ...] | None = None
    nz_rows: tuple[tuple[int, int], ...] | None = None


# --- Seed 001's numbers ------------------------------------------------------------------------

# "Lenet-mnist with global sparsity = 4.4%": Local Weights Sparsity (a density), Cols / Rows
# Sparsity, Crossbar (size 128*128), Saved.
LENET5_44 = SeedTable(
    "lenet5", 0.044, "4.4 %", 128, dense=(1, 2, 4, 1, 1), saved=(0, 1, 2, 0, 0),
    layer_density=(0.4066, 0.0466, 0.0048, 0.1775, 0.6047),
    nz_cols=((6, 6), (25, 32), (166, 480), (84, 84), (10, 10)),
    nz_rows=((24, 25), (80, 150), (178, 400), (120, 120), (84, 84)))

# "vgg11-cifar10 ... Save (sparsity = 10%) / (7%) / (4%)"; the 4 % column is the network of
# "Vgg11-cifar10 with global sparsity = 4.4%" (Total Sparsity = 422805/9613504 = 0.04398; the same
# 69 / 94 / 73), whose per-layer "Sparsity" (a density) and segment counts are these.
VGG11_DENSE = (1, 5, 18, 36, 72, 144, 144, 144, 16, 8, 2)
VGG11 = [
    SeedTable("vgg11", 0.10, "10 %", 128, VGG11_DENSE, (0,) * 11),
    SeedTable("vgg11", 0.07, "7 %", 128, VGG11_DENSE, (0, 0, 0, 0, 0, 19, 51, 21, 0, 0, 0)),
    SeedTable("vgg11", 422805 / 9613504, "4 % (the 4.4 % network)", 128, VGG11_DENSE,
              (0, 0, 0, 0, 1, 69, 94, 73, 0, 0, 0),
              layer_density=(0.7858, 0.3515, 0.1504, 0.081, 0.0357, 0.0105, 0.0101, 0.0108, 0.4486, 0.5121,
                             0.8406),
              nz_cols=((64, 64), (640, 640), (2304, 2304), (4608, 4608), (9025, 9216), (9526, 18432),
                       (9404, 18432), (9920, 18432), (2048, 2048), (1024, 1024), (20, 20)),
              nz_rows=((27, 27), (576, 576), (2304, 2304), (4607, 4608), (9018, 9216), (12736, 18432),
                       (6366, 18432), (8988, 18432), (2048, 2048), (1024, 1024), (256, 256))),
]

# "vgg16-cifar10 ... Save (sparsity = 4%) / (2%) / (1%)".
VGG16_DENSE = (1, 5, 5, 9, 18, 36, 36, 72, 144, 144, 144, 144, 144, 16, 8, 2)
VGG16 = [
    SeedTable("vgg16", 0.04, "4 %", 128, VGG16_DENSE, (0, 2, 0, 0, 0, 0, 0, 5, 38, 27, 15, 12, 13, 0, 0, 1)),
    SeedTable("vgg16", 0.02, "2 %", 128, VGG16_DENSE, (0, 2, 0, 0, 0, 3, 3, 25, 105, 96, 83, 76, 80, 0, 0, 1)),
    SeedTable("vgg16", 0.01, "1 %", 128, VGG16_DENSE,
              (0, 2, 0, 0, 6, 23, 25, 66, 139, 140, 140, 139, 139, 0, 0, 1)),
]

# "Resnet18-cifar10 ... Save (sparsity = 4%) / (2%) / (1%)": the same columns as its tables "with
# global sparsity = 4.4%" (with Local Weights and segment counts), "= 1.8%" and "= 0.8%". The seed
# lists 18 layers: no shortcut convolutions.
RESNET18_DENSE = (1, 5, 5, 5, 5, 5, 9, 9, 9, 18, 36, 36, 36, 72, 144, 144, 144, 4)
RESNET18 = [
    SeedTable("resnet18", 0.044, "4 % (the 4.4 % network)", 128, RESNET18_DENSE,
              (0,) * 13 + (17, 77, 109, 107, 0),
              layer_density=(0.5711, 0.5021, 0.4717, 0.4811, 0.4648, 0.3459, 0.2592, 0.2551, 0.2453, 0.0952,
                             0.0473, 0.0468, 0.0519, 0.0122, 0.0051, 0.0031, 0.0035, 0.7843),
              nz_cols=((64, 64), (320, 320), (320, 320), (320, 320), (320, 320), (640, 640), (1152, 1152),
                       (1152, 1152), (1152, 1152), (2304, 2304), (4594, 4608), (4597, 4608), (4596, 4608),
                       (6979, 9216), (8517, 18432), (4372, 18432), (5560, 18432), (40, 40)),
              nz_rows=((27, 27), (576, 576), (576, 576), (576, 576), (576, 576), (576, 576), (1152, 1152),
                       (1152, 1152), (1152, 1152), (2304, 2304), (4597, 4608), (4599, 4608), (4603, 4608),
                       (7202, 9216), (8724, 18432), (5829, 18432), (4728, 18432), (512, 512))),
    SeedTable("resnet18", 0.018, "2 % (the 1.8 % network)", 128, RESNET18_DENSE,
              (0, 2, 2, 2, 2, 0, 0, 0, 0, 1, 6, 7, 14, 57, 128, 136, 134, 3)),
    SeedTable("resnet18", 0.008, "1 % (the 0.8 % network)", 128, RESNET18_DENSE,
              (0, 2, 2, 2, 2, 0, 1, 1, 1, 7, 19, 20, 27, 67, 138, 140, 139, 3)),
]

# "VGG19-CIFAR10 on different crossbar size 128, 64, 8 and different global density = 4%, 2%,1%":
# Total and saved columns of "Crossbar. size 128*128 / 64*64 / 8*8". (Its printed sum rows 1249,
# 4983, 31891 are not the sums of its Total columns, 1252, 4988, 319008; its saved sums agree with
# its columns but for a dropped digit at 8 x 8, 4 %: 25595 for 255951.)
VGG19_COLUMNS = {
    128: {"dense": (1, 5, 5, 9, 18, 36, 36, 36, 72, 144, 144, 144, 144, 144, 144, 144, 16, 8, 2),
          0.04: (0, 2, 0, 0, 0, 0, 0, 0, 6, 35, 24, 14, 5, 4, 4, 5, 0, 0, 1),
          0.02: (0, 2, 0, 0, 0, 2, 2, 4, 30, 95, 80, 67, 52, 47, 44, 49, 0, 0, 1),
          0.01: (0, 2, 0, 0, 2, 14, 16, 19, 59, 134, 133, 133, 132, 132, 132, 132, 0, 0, 1)},
    64: {"dense": (1, 9, 18, 36, 72, 144, 144, 144, 288, 576, 576, 576, 576, 576, 576, 576, 64, 32, 4),
         0.04: (0, 0, 0, 0, 0, 8, 10, 10, 83, 285, 229, 176, 114, 99, 97, 106, 0, 0, 3),
         0.02: (0, 0, 0, 0, 6, 38, 42, 46, 186, 470, 428, 391, 345, 329, 319, 334, 0, 0, 3),
         0.01: (0, 0, 0, 4, 28, 89, 97, 105, 262, 555, 555, 555, 553, 552, 553, 552, 0, 0, 3)},
    8: {"dense": (32, 576, 1152, 2304, 4608, 9216, 9216, 9216, 18432, 36864, 36864, 36864, 36864, 36864, 36864,
                  36864, 4096, 2048, 64),
        0.04: (5, 28, 239, 801, 2592, 6498, 6544, 6613, 15749, 33767, 32721, 31621, 30054, 29524, 29463, 29679,
               23, 6, 24),
        0.02: (5, 55, 400, 1205, 3411, 7813, 7868, 7991, 17443, 35941, 35480, 35078, 34561, 34352, 34237, 34401,
               72, 16, 24),
        0.01: (5, 158, 704, 1781, 4097, 8683, 8759, 8858, 18217, 36696, 36693, 36692, 36676, 36672, 36677, 36672,
               431, 108, 24)},
}
# "Vgg19 layer13 ... Theoretical / Experimental" Pr(zero col) per column size, and the layer's
# density at each global density (the only VGG19 layer density the seed gives).
VGG19_LAYER13_DENSITY = {0.04: 0.025, 0.02: 0.008, 0.01: 0.0006}
VGG19 = [SeedTable("vgg19", d, f"{d:.0%}", size, cols["dense"], cols[d],
                   layer_density=(None,) * 12 + (VGG19_LAYER13_DENSITY[d],) + (None,) * 6)
         for size, cols in VGG19_COLUMNS.items() for d in (0.04, 0.02, 0.01)]
VGG19_LAYER13_ZERO_COLS = {8: {0.04: 0.815, 0.02: 0.937, 0.01: 0.994},
                           64: {0.04: 0.197, 0.02: 0.599, 0.01: 0.960},
                           128: {0.04: 0.04, 0.02: 0.359, 0.01: 0.919}}

SEED_TABLES = [LENET5_44, *VGG11, *VGG16, *RESNET18, *VGG19]


# --- resim's side ------------------------------------------------------------------------------

def seed_layer_names(model: str, names: list[str]) -> list[str]:
    """resim's layers that seed 001's tables list, in order (its ResNet18 has no shortcut convs)."""
    return [n for n in names if "shortcut" not in n]


def seed_rule(cols: int, rows: int, dense: int, size: int) -> int:
    """Seed 001's crossbars saved from nonzero segment counts: dense - ceil(min / N)."""
    return dense - math.ceil(min(cols, rows) / size)


def map_masks(masks: list[LayerMask], size: int, strategies: list[str], seed: int) -> pd.DataFrame:
    """One row per layer: shape, density, dense tiles, segments, seed rule, saved per strategy,
    max saved (dense - lower bound), seconds per strategy."""
    rows = []
    for layer in masks:
        mask = layer.mask
        r, c = mask.shape
        dense = dense_tiles(r, c, size)
        segments = segment_counts(mask, size)
        row = {"layer": layer.name, "R x C": f"{r} x {c}", "density": float(mask.mean()), "dense": dense,
               "nz_cols": segments["nz_cols"], "total_cols": segments["total_cols"],
               "nz_rows": segments["nz_rows"], "total_rows": segments["total_rows"],
               "seed rule": seed_rule(segments["nz_cols"], segments["nz_rows"], dense, size)}
        for name in strategies:
            started = time.perf_counter()
            placed = len(get_strategy(name).tile(mask, size, seed))
            row[f"seconds {name}"] = time.perf_counter() - started
            row[name] = dense - placed
        row["max"] = dense - lower_bound(mask, size)
        rows.append(row)
    return pd.DataFrame(rows)


def compare(table: SeedTable, masks: list[LayerMask], strategies: list[str], seed: int) -> pd.DataFrame:
    """map_masks beside the seed's columns (blank for layers the seed does not list)."""
    ours = map_masks(masks, table.size, strategies, seed)
    listed = seed_layer_names(table.model, ours["layer"].tolist())
    if len(listed) != len(table.dense):
        raise ValueError(f"{table.model}: resim has {len(listed)} of the seed's layers, the seed lists "
                         f"{len(table.dense)}")
    index = {name: i for i, name in enumerate(listed)}
    seed_cols = {"seed density": table.layer_density, "seed dense": table.dense, "seed saved": table.saved}
    for column, values in seed_cols.items():
        ours[column] = [values[index[n]] if values is not None and n in index else None for n in ours["layer"]]
    if table.nz_cols is not None:
        ours["seed nz_cols"] = [table.nz_cols[index[n]][0] if n in index else None for n in ours["layer"]]
        ours["seed nz_rows"] = [table.nz_rows[index[n]][0] if n in index else None for n in ours["layer"]]
        ours["seed rule on seed's segments"] = [
            seed_rule(table.nz_cols[index[n]][0], table.nz_rows[index[n]][0], table.dense[index[n]], table.size)
            if n in index else None for n in ours["layer"]]
    for column in ("seed dense", "seed saved", "seed nz_cols", "seed nz_rows", "seed rule on seed's segments"):
        if column in ours:
            ours[column] = ours[column].astype("Int64")   # blanks stay blank, counts stay integers
    ours["in seed"] = ours["layer"].isin(index)
    return ours


def shown(per_layer: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
    """The printed table: one row per layer, a sum row over the seed's layers and the saved share."""
    columns = ["layer", "R x C", "seed density", "density", "dense", "seed saved", "seed rule", *strategies, "max"]
    if "seed nz_cols" in per_layer:
        columns[6:6] = ["seed rule on seed's segments"]
        columns[2:2] = ["seed nz_cols", "nz_cols", "seed nz_rows", "nz_rows"]
    if (per_layer["seed dense"].notna() & (per_layer["seed dense"] != per_layer["dense"])).any():
        columns.insert(columns.index("dense") + 1, "seed dense")
    table = per_layer[columns].copy()
    if per_layer["seed density"].isna().all():
        table = table.drop(columns="seed density")
    listed = per_layer[per_layer["in seed"]]
    sums = {"layer": "**Sum** (seed's layers)", "dense": int(listed["dense"].sum())}
    share = {"layer": "saved share"}
    if "seed dense" in table:
        sums["seed dense"] = int(listed["seed dense"].sum())
    for c in ["seed saved", "seed rule", "seed rule on seed's segments", *strategies, "max"]:
        if c in table:
            sums[c] = int(listed[c].sum())
            # The seed's counts are shares of the seed's dense grid.
            whole = int(listed["seed dense"].sum()) if c in ("seed saved", "seed rule on seed's segments") \
                else sums["dense"]
            share[c] = f"{sums[c] / whole:.1%}"
    for c in ("density", "seed density"):
        if c in table:
            table[c] = table[c].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.4f}")
    out = pd.concat([table, pd.DataFrame([sums, share])], ignore_index=True)
    return out.astype(object).where(out.notna(), "")


def summary_row(case: str, table: SeedTable, masks: str, per_layer: pd.DataFrame, strategies: list[str],
                seconds: float) -> dict:
    listed = per_layer[per_layer["in seed"]]
    dense = int(listed["dense"].sum())
    row = {"case": case, "network": table.model, "density": table.label, "masks": masks, "N": table.size,
           "dense": dense, "seed dense": int(sum(table.dense)), "seed saved": int(sum(table.saved))}
    for c in ["seed rule", *strategies, "max"]:
        row[c] = int(listed[c].sum())
    row["seconds"] = round(seconds, 1)
    for name in strategies:
        row[f"seconds {name}"] = round(float(per_layer[f"seconds {name}"].sum()), 2)
    return row


def percent_summary(summary: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
    out = summary.drop(columns=["case", *(f"seconds {s}" for s in strategies)]).copy()
    for c in ["seed saved", "seed rule", *strategies, "max"]:
        whole = summary["seed dense"] if c == "seed saved" else summary["dense"]
        out[c] = [f"{v} ({v / d:.0%})" for v, d in zip(summary[c], whole)]
    if (summary["seed dense"] == summary["dense"]).all():
        out = out.drop(columns="seed dense")
    return out


def workload_masks(path: Path, data_dir: Path | None) -> tuple[str, float, list[LayerMask]]:
    """(zoo model name without _bn, global density, masks of the nonzero weights) of a workload's
    trained network (shipped or cached checkpoint; never trains)."""
    from simulator.config import load_workload
    from simulator.data.load import input_shape, load_data
    from simulator.lowering.layers import lower_network, weight_matrices
    from simulator.preparation import NotTrainedError, prepare_network

    workload = load_workload(path)
    arrays = load_data(workload, data_dir)
    try:
        net = prepare_network(workload, arrays, progress=False, train=False)
    except NotTrainedError as exc:
        raise SystemExit(str(exc)) from None
    modules = dict(net.model.named_modules())
    masks = [LayerMask(layer.name, matrix != 0) for layer in lower_network(net.model, input_shape(arrays))
             for matrix in weight_matrices(modules[layer.name])]
    density = sum(int(m.mask.sum()) for m in masks) / sum(m.mask.size for m in masks)
    name = workload.config.model.name or ""
    return name.removesuffix("_bn"), density, masks


def seed_tables_for(model: str, density: float) -> list[SeedTable]:
    """The seed tables of `model` at the global density nearest `density` (within 30 %)."""
    candidates = [t for t in SEED_TABLES if t.model == model]
    if not candidates:
        raise SystemExit(f"seed 001 has no crossbar table for {model!r}")
    nearest = min(candidates, key=lambda t: abs(math.log(t.density / density)))
    if abs(math.log(nearest.density / density)) > math.log(1.3):
        raise SystemExit(f"seed 001 has no {model} table near density {density:.4f}; it has "
                         f"{sorted({t.density for t in candidates})}")
    return [t for t in candidates if t.density == nearest.density]


def layer13_check(seed: int, strategies: list[str]) -> pd.DataFrame:
    """VGG19 layer 13 (conv13, 4608 x 512) as a random mask at the seed's measured densities:
    share of all-zero column segments, theory (1 - d)^N, the seed's experiment and ours, and the
    crossbars saved (seed vs ours)."""
    shapes = [s for s in layer_shapes("vgg19") if s[0] == "conv13"]
    rows = []
    for global_density, d in VGG19_LAYER13_DENSITY.items():
        mask = random_masks(shapes, [d], seed)[0]
        for size in (8, 64, 128):
            segments = segment_counts(mask.mask, size)
            ours = map_masks([mask], size, strategies, seed).iloc[0]
            seed_saved = VGG19_COLUMNS[size][global_density][12]
            rows.append({"global density": f"{global_density:.0%}", "conv13 density": d, "N": size,
                         "Pr(zero col) theory": f"{(1 - d) ** size:.1%}",
                         "seed experimental": f"{VGG19_LAYER13_ZERO_COLS[size][global_density]:.1%}",
                         "ours": f"{1 - segments['nz_cols'] / segments['total_cols']:.1%}",
                         "dense": int(ours["dense"]), "seed saved": seed_saved, "seed rule": int(ours["seed rule"]),
                         **{s: int(ours[s]) for s in strategies}, "max": int(ours["max"])})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="data sets (for --workload's networks)")
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES),
                        help=f"comma-separated, of {', '.join(STRATEGY_NAMES)}")
    parser.add_argument("--workload", type=Path, action="append", default=None,
                        help="map this trained workload's masks against the seed table of its network and "
                             "density (repeatable; default workloads/lenet5_mnist_sparse_4.4.yaml); a VGG / "
                             "ResNet18 workload replaces that network's synthetic masks")
    parser.add_argument("--no-synthetic", action="store_true", help="only the --workload networks")
    parser.add_argument("--seed", type=int, default=0, help="seeds the synthetic masks and the strategies")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "seed001_crossbar_savings")
    args = parser.parse_args()
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGY_NAMES]
    if unknown or not strategies:
        raise SystemExit(f"--strategies: unknown {unknown}; allowed: {', '.join(STRATEGY_NAMES)}")
    workloads = args.workload or [REPO / "workloads" / "lenet5_mnist_sparse_4.4.yaml"]
    started = time.perf_counter()

    cases: list[tuple[str, SeedTable, str, list[LayerMask]]] = []
    from_workloads: set[tuple[str, float]] = set()
    for path in workloads:
        model, density, masks = workload_masks(path, args.data_dir)
        for table in seed_tables_for(model, density):
            cases.append((f"checkpoint {Path(path).name}", table, f"checkpoint ({density:.2%})", masks))
            from_workloads.add((table.model, table.density))
    if not args.no_synthetic:
        for table in SEED_TABLES:
            if table.layer_density is not None and None not in table.layer_density:
                shapes = layer_shapes(table.model, (1, 28, 28) if table.model == "lenet5" else (3, 32, 32))
                listed = seed_layer_names(table.model, [n for n, _ in shapes])
                shapes = [s for s in shapes if s[0] in listed]
                cases.append(("random", table, "random at the seed's layer densities",
                              random_masks(shapes, table.layer_density, args.seed)))
        global_masks: dict[tuple[str, float], list[LayerMask]] = {}
        for table in SEED_TABLES:
            if table.model == "lenet5" or (table.model, table.density) in from_workloads:
                continue
            key = (table.model, table.density)
            if key not in global_masks:
                global_masks[key] = global_magnitude_masks(table.model, table.density, args.seed)
            cases.append(("global", table, f"global magnitude ({table.density:.1%}, normal weights)",
                          global_masks[key]))

    per_layer, summaries = [], []
    for case, table, masks_label, masks in cases:
        case_started = time.perf_counter()
        result = compare(table, masks, strategies, args.seed)
        seconds = time.perf_counter() - case_started
        print(f"\n### {table.model} {table.label}, N = {table.size}: masks {masks_label} "
              f"({seconds:.1f} s)\n")
        print(shown(result, strategies).to_markdown(index=False))
        if (result["seed dense"].notna() & (result["seed dense"] != result["dense"])).any():
            print("warning: resim's dense crossbars differ from the seed's here (another network width?)")
        others = result[~result["in seed"]]
        if len(others):
            print("not in the seed's table (left out of the sums): "
                  + ", ".join(f"{r.layer} (dense {r.dense}, density {r.density:.4f})" for r in others.itertuples()))
        summaries.append(summary_row(case, table, masks_label, result, strategies, seconds))
        result.insert(0, "case", case)
        result.insert(1, "network", table.model)
        result.insert(2, "seed global density", table.density)
        result.insert(3, "N", table.size)
        result.insert(4, "masks", masks_label)
        per_layer.append(result)

    if not args.no_synthetic:
        check_started = time.perf_counter()
        check = layer13_check(args.seed, strategies)
        print(f"\n### VGG19 layer 13 (conv13) as a random mask at the seed's measured densities "
              f"({time.perf_counter() - check_started:.1f} s)\n")
        print(check.to_markdown(index=False))
        write_text(args.out / "vgg19_layer13.csv", check.to_csv(index=False))

    summary = pd.DataFrame(summaries)
    print("\n### Summary: crossbars saved over the seed's layers (share of the dense grid)\n")
    print(percent_summary(summary, strategies).to_markdown(index=False))
    write_text(args.out / "per_layer.csv", pd.concat(per_layer, ignore_index=True).to_csv(index=False))
    write_text(args.out / "summary.csv", summary.to_csv(index=False))
    print(f"\nstrategies: {', '.join(strategies)}; total {time.perf_counter() - started:.0f} s; "
          f"results in {args.out}")


if __name__ == "__main__":
    main()
