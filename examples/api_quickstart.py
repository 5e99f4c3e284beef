"""resim's Python API in one script, cell by cell as a notebook would run it: a small CNN defined
here (no zoo, no torchvision), trained briefly on MNIST, pruned by magnitude, mapped onto seed
004's 32x32-crossbar design, simulated beside its dense mapping and dense PRIME, and measured under
stuck-at faults; prints energy, latency, tiles and accuracy under faults, and plots them.

    python examples/api_quickstart.py --data-dir ../shared/data

About 30 s on 2 cores (docs/api.md has its output). The plot goes to
results/api_quickstart/api_quickstart.png (or --out).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own spelling
from torch import nn

import simulator
from simulator.data.datasets import load_dataset
from simulator.network.train import to_tensors
from simulator.pruning.magnitude import global_magnitude
from simulator.pruning.masks import MaskedTraining, density

REPO = Path(__file__).resolve().parents[1]
# The chips of the study (Simulation.chips keys) by the mapping they run.
MAPPINGS = {"workload": "sparse (kmeans)", "dense": "dense", "baseline": "dense"}


# %% The model: any torch.nn.Module with Conv2d / Linear layers.
class SmallCNN(nn.Module):
    """Two 5x5 convolutions with pooling, two fully-connected layers (LeNet-like, 0.85 M MACs)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc1 = nn.Linear(16 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
        masks: dict[str, torch.Tensor] | None = None) -> None:
    """Plain SGD; `masks` keep pruned weights at zero (simulator.pruning.masks.MaskedTraining)."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    with MaskedTraining(model, masks) as masking:
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), 128):
                batch = order[start:start + 128]
                optimizer.zero_grad()
                F.cross_entropy(model(x[batch]), y[batch]).backward()
                optimizer.step()
                masking.after_step()


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = Path(os.environ.get("RESIM_DATA", REPO.parent / "shared" / "data"))
    parser.add_argument("--data-dir", type=Path, default=default_data,
                        help="Folder holding mnist/ (default: RESIM_DATA, else ../shared/data beside the checkout)")
    parser.add_argument("--out", type=Path, default=Path("results") / "api_quickstart", help="Folder of the plot")
    parser.add_argument("--fault-images", type=int, default=500, help="Test images of the fault study")
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(0)
    # Batches this small gain nothing from a second thread, and lose much when the cores are busy.
    torch.set_num_threads(1)

    # %% Data: MNIST as normalised tensors (resim's loader; any tensors do).
    data = to_tensors(load_dataset("mnist", args.data_dir))
    model = SmallCNN()
    fit(model, data.x_train[:20000], data.y_train[:20000], epochs=1, lr=0.05)
    print(f"SmallCNN trained on 20 000 images: {accuracy(model, data.x_test, data.y_test):.2%} on 10 000 test images")

    # %% Prune: keep the 10 % largest weights of all Conv2d / Linear layers, fine-tune under the masks.
    masks = global_magnitude(model, 0.10)
    fit(model, data.x_train[20000:30000], data.y_train[20000:30000], epochs=1, lr=0.01, masks=masks)
    print(f"pruned to {density(masks):.1%} of the weights and fine-tuned: "
          f"{accuracy(model, data.x_test, data.y_test):.2%}")

    # %% Map: the stage alone, for a look at the tiles (simulate below maps again).
    mapped = simulator.map_network(model, (1, 28, 28), hardware="sparse_small", crossbar_size=32, reorder="kmeans")
    print(f"mapping (32x32, kmeans): {mapped.tiles_placed} crossbars placed of {mapped.tiles_dense} dense")
    layers = mapped.to_frame()[["layer", "R", "C", "density", "tiles_dense", "tiles_placed"]]
    print(layers.assign(density=(layers["density"] * 100).round(1)).rename(columns={"density": "density (%)"})
          .to_string(index=False))

    # %% Simulate: the chip, the dense mapping on it, dense PRIME; the fault study on test images.
    # Every chip is sized to fit with 100 % more arrays for replicas of its slowest layers.
    x, y = data.x_test[:args.fault_images], data.y_test[:args.fault_images]
    sim = simulator.simulate(model, hardware="sparse_small", mapping={"crossbar_size": 32, "reorder": "kmeans"},
                             baseline="prime", study={"replica_budget": 1.0}, data=(x, y),
                             faults={"rates": [1e-3, 1e-2, 3e-2], "encodings": ["two-column", "differential"],
                                     "runs": 5})
    chips = sim.to_frame()
    table = pd.DataFrame({
        "chip": chips["chip"].map(MAPPINGS), "hardware": chips["hardware"],
        "energy (uJ)": (chips["energy_per_inference_pj"] / 1e6).round(3),
        "latency (us)": (chips["latency_ns"] / 1e3).round(2), "area (mm^2)": chips["area_mm2"].round(3),
        "arrays (1 copy)": chips["arrays_mapped"], "sparse's energy eff.": chips["workload_energy_efficiency"].round(2),
        "sparse's speed-up": chips["workload_speedup"].round(2)})
    print("\nper inference:")
    print(table.to_string(index=False))
    print(f"\naccuracy on {len(y)} test images: {sim.accuracy:.2%} (float weights); under stuck-at faults "
          "(stuck-off : stuck-on = 1 : 5.2, mean of 5 draws):")
    assert sim.fault_study is not None
    faults = sim.fault_study.to_frame().pivot(index="rate", columns="encoding", values="mean")
    print((faults * 100).round(2).to_string())

    # %% Plot: energy by component per chip, and accuracy against the fault rate.
    out = args.out / "api_quickstart.png"
    plot(sim, out)
    print(f"\nplot: {out}  ({time.perf_counter() - started:.0f} s in all)")


def plot(sim: simulator.Simulation, path: Path) -> None:
    from simulator.report.plots import pyplot, save_figure

    plt = pyplot()
    fig, (energy, faults) = plt.subplots(1, 2, figsize=(11, 4))
    parts = pd.DataFrame({f"{sim.chips[label].hardware}\n{MAPPINGS[label]}": {c.component: c.energy_pj / 1e6
                                                                                for c in components}
                          for label, components in sim.components.items()}).fillna(0.0)
    parts = parts.loc[parts.sum(axis=1).sort_values(ascending=False).index]
    bottom = pd.Series(0.0, index=parts.columns)
    for component, row in parts.head(7).iterrows():
        energy.bar(parts.columns, row, bottom=bottom, label=str(component))
        bottom += row
    energy.bar(parts.columns, parts.iloc[7:].sum(), bottom=bottom, label="other", color="lightgrey")
    energy.set_ylabel("energy per inference (uJ)")
    energy.set_title("energy by component")
    energy.legend(fontsize=7)
    assert sim.fault_study is not None
    for encoding, rows in sim.fault_study.summary.groupby("encoding", sort=False):
        faults.errorbar(rows["rate"], rows["mean"] * 100, yerr=(rows["mean"] - rows["ci95_low"]) * 100,
                        marker="o", capsize=3, label=str(encoding))
    faults.set_xscale("log")
    faults.set_xlabel("cell fault rate (stuck-off + stuck-on)")
    faults.set_ylabel("test accuracy (%)")
    faults.set_title("accuracy under stuck-at faults")
    faults.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
