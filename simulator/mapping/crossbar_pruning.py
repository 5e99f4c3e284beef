"""Crossbar-grained pruning (seed 004, section IV "CROSSBAR-GRAINED PRUNING"; Fig. 5, Fig. 11).

After a sparse network is mapped onto crossbars, some tiles hold only a few weights (seed 004
Fig. 4). Seed 004 prunes further with the grain G_i = one crossbar row: the weights one tile holds
in one of its rows, i.e. one input row r of a group's W (R, C) restricted to the columns that tile
holds there. Following Mao et al. [15], the saliency of a grain is S_i = sum_{w in G_i} |w|; the
least salient grains are removed, the network is fine-tuned, and "Pruning - Finetuning - Pruning"
repeats until enough crossbars are saved or the accuracy would suffer. Seed 004 Fig. 11 compares
the parameters removed with the crossbars saved, both normalised to the whole model.

Index convention (design.md stage 3, `simulator.lowering.layers.weight_matrices`): group g of a
layer with out_pg = out_channels / groups outputs per group has
W_g = weight[g*out_pg:(g+1)*out_pg].reshape(out_pg, -1).T, so W_g[r, c] is
weight.view(out, -1)[g*out_pg + c, r], r being the flat (in_channel, kh, kw) index within the group.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from simulator.mapping.network import MappedNetwork, map_network
from simulator.mapping.setup import MappingSetup
from simulator.pruning.masks import Masks, apply_masks, prunable


@dataclass(frozen=True, eq=False)
class CrossbarRowGroup:
    """One pruning grain G_i of seed 004 section IV: the weights tile `tile` of matrix group `group`
    of layer `layer` holds in W row `row` (columns `cols` of W), with saliency S_i = sum |w|."""

    layer: str
    group: int
    tile: int
    row: int
    cols: np.ndarray  # int64 column indices of W_group (outputs within the group)
    saliency: float

    @property
    def size(self) -> int:
        """Weights in the grain."""
        return len(self.cols)


@dataclass
class CrossbarPruneStep:
    """One "Pruning - Finetuning" round of seed 004 section IV (step 0: the starting point).

    `params_pruned` counts the weights this procedure has zeroed so far; both fractions are
    normalised to the whole model as in seed 004 Fig. 11 (nonzeros and tiles before step 1).
    `reverted`: the accuracy fell below the floor, so this step's removal was rolled back and its
    numbers describe the rejected attempt."""

    step: int
    groups_removed: int
    params_pruned: int
    params_pruned_fraction: float
    tiles_placed: int
    tiles_saved_fraction: float
    test_accuracy: float | None
    reverted: bool = False


def _map_network(model: nn.Module, masks: Masks, input_shape: tuple[int, int, int],
                 setup: MappingSetup) -> MappedNetwork:
    """Zero `model` outside `masks`, then map it (design.md stage 4)."""
    apply_masks(model, masks)
    return map_network(model, input_shape, setup)


def _row_groups(mapped: MappedNetwork) -> list[CrossbarRowGroup]:
    """Every nonempty tile row of every tile, in (layer order, g, tile, r) order."""
    groups = []
    for layer in mapped.layers:
        for g, (W, tiles) in enumerate(zip(layer.matrices, layer.tiles)):
            for t, tile in enumerate(tiles):
                for i, r in enumerate(tile.rows):
                    cols = tile.cols[tile.held[i]]
                    if len(cols):
                        groups.append(CrossbarRowGroup(layer.name, g, t, int(r), cols,
                                                       float(np.abs(W[r, cols]).sum())))
    return groups


def crossbar_row_groups(model: nn.Module, masks: Masks, input_shape: tuple[int, int, int],
                        setup: MappingSetup) -> list[CrossbarRowGroup]:
    """The crossbar-row grains of the masked `model` mapped by `setup` (seed 004 section IV), in
    (layer call order, g, tile, r) order.

    Zeroes `model`'s weights outside `masks` first. The grains partition the programmed nonzeros:
    a weight that quantizes to zero at the setup's weight bits sits on no crossbar and in no grain."""
    return _row_groups(_map_network(model, masks, input_shape, setup))


def _completed(model: nn.Module, masks: Masks) -> Masks:
    """Copies of `masks`, plus the current nonzero pattern of any prunable layer they lack."""
    return {name: (masks[name] if name in masks else module.weight.detach() != 0)
            .clone(memory_format=torch.contiguous_format) for name, module in prunable(model).items()}


def remove_groups(model: nn.Module, masks: Masks, groups: list[CrossbarRowGroup]) -> Masks:
    """New masks without the weights of `groups`, applied to `model` (seed 004 section IV pruning).

    W_g[r, c] is weight.view(out, -1)[g * out_pg + c, r] (see the module docstring)."""
    new = _completed(model, masks)
    layers = prunable(model)
    for group in groups:
        module = layers[group.layer]
        out_pg = module.weight.shape[0] // getattr(module, "groups", 1)
        flat = new[group.layer].view(module.weight.shape[0], -1)
        flat[torch.as_tensor(group.group * out_pg + group.cols), group.row] = False
    apply_masks(model, new)
    return new


def lowest_groups(groups: list[CrossbarRowGroup], count: int) -> list[CrossbarRowGroup]:
    """The `count` least salient grains (ties by the input order), skipping any grain that would be
    the last one of its layer, so no layer is emptied; fewer when too few may go."""
    left = Counter(group.layer for group in groups)
    chosen: list[CrossbarRowGroup] = []
    for index in sorted(range(len(groups)), key=lambda i: (groups[i].saliency, i)):
        if len(chosen) == count:
            break
        group = groups[index]
        if left[group.layer] > 1:
            left[group.layer] -= 1
            chosen.append(group)
    return chosen


def _nonzeros(model: nn.Module) -> int:
    return sum(int(torch.count_nonzero(m.weight)) for m in prunable(model).values())


def _snapshot(model: nn.Module, masks: Masks) -> tuple[dict[str, torch.Tensor], Masks]:
    return copy.deepcopy(model.state_dict()), {name: m.clone() for name, m in masks.items()}


def crossbar_grained_prune(
    model: nn.Module,
    masks: Masks,
    input_shape: tuple[int, int, int],
    setup: MappingSetup,
    *,
    step_fraction: float,
    max_steps: int,
    target_tiles: int | None = None,
    accuracy_floor: float | None = None,
    finetune: Callable[[nn.Module, Masks], None] | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
) -> tuple[Masks, list[CrossbarPruneStep]]:
    """Seed 004 section IV's "Pruning - Finetuning - Pruning" on crossbar-row grains, in place,
    on the network as `setup` maps it.

    Step 0 records the mapped starting point. Each step maps the current masked model, removes the
    lowest-saliency `step_fraction` of all grains of all layers (at least one; never a layer's last
    grain), calls `finetune(model, masks)` (which must train under the masks; the masks are applied
    again after it), evaluates and records. Stops once `tiles_placed <= target_tiles`, after
    `max_steps` steps, when no grain may go, or when the accuracy falls below `accuracy_floor`: that
    step is then rolled back (weights and masks) and recorded with `reverted=True`.

    Returns the final masks (the model holds the matching weights) and the step records.
    """
    if not 0 < step_fraction <= 1:
        raise ValueError(f"step_fraction must be in (0, 1], got {step_fraction}")
    if accuracy_floor is not None and evaluate is None:
        raise ValueError("an accuracy floor needs an evaluate function")
    masks = _completed(model, masks)

    def mapped() -> MappedNetwork:
        return _map_network(model, masks, input_shape, setup)

    def record(step: int, removed: int, tiles: int) -> CrossbarPruneStep:
        return CrossbarPruneStep(step, removed, pruned, pruned / nonzeros if nonzeros else 0.0, tiles,
                                 1 - tiles / tiles_before if tiles_before else 0.0,
                                 evaluate(model) if evaluate else None)

    current = mapped()
    nonzeros, tiles_before, pruned = _nonzeros(model), current.tiles_placed, 0
    steps = [record(0, 0, tiles_before)]
    for step in range(1, max_steps + 1):
        if target_tiles is not None and current.tiles_placed <= target_tiles:
            break
        groups = _row_groups(current)
        chosen = lowest_groups(groups, max(1, math.floor(step_fraction * len(groups))))
        if not chosen:
            break
        saved = _snapshot(model, masks) if accuracy_floor is not None else None
        masks = remove_groups(model, masks, chosen)
        pruned += sum(group.size for group in chosen)
        if finetune is not None:
            finetune(model, masks)
            apply_masks(model, masks)
        current = mapped()
        steps.append(record(step, len(chosen), current.tiles_placed))
        # With a floor, `evaluate` is given (checked above), so every step has an accuracy.
        accuracy = steps[-1].test_accuracy
        if saved is not None and accuracy_floor is not None and accuracy is not None and accuracy < accuracy_floor:
            steps[-1].reverted = True
            model.load_state_dict(saved[0])
            return saved[1], steps
    return masks, steps
