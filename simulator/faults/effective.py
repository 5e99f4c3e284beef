"""Effective weights of a mapped matrix under stuck-at faults (design.md stages 4-5, seed 003).

Every placed tile is a crossbar of ``polarities x S`` arrays (design.md, "physical array") over its
``rows x cols`` of W. Each of its cells exists physically and can fail, whether it holds a nonzero
or the encoding of zero: a position the tile covers but does not hold (a pruned weight, or a
nonzero another tile holds) still sits under a driven wordline and a read bitline. So:

- seed 003's shielding appears here: a covered zero is ``(0, 0)`` in two-column (harmed only by
  stuck-on) and ``(L, L)`` in differential (harmed only by stuck-off);
- a position covered by several tiles gets the sum of their decoded cells, because the tiles'
  partial sums are added;
- a position no placed tile covers has no cells at all, so it is exactly zero whatever the rates
  (tiles skipped by sparse mapping are honoured).

Cells of a tile's N x N array beyond its rows and columns are neither driven nor read, so they do
not contribute and are not drawn.

A `FaultMap` is one fault draw frozen over one matrix's tiles: the chip after fabrication. Because
every encoding is elementwise, the chip's integer value at a position is the held weight ``q``
(0 where no tile holds one), plus the decoded stuck cells of tiles that cover it without holding
it (they are programmed zero, so that part is a constant), plus, where the holding tile has stuck
cells, ``decode(faulty encode(q)) - q``. So any weights with the same nonzero pattern (fine-tuned
ones, simulator/faults/aware_training.py) can be put through the same stuck cells cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.faults.cells import (
    HEALTHY,
    FaultRates,
    LineRates,
    apply_faults,
    draw_cell_faults,
    draw_line_faults,
    merge_faults,
)
from simulator.mapping.encoding import get_encoding
from simulator.mapping.quantize import Quantized, qmax, quantize
from simulator.mapping.tiles import Tile


@dataclass(frozen=True)
class TileDraw:
    """One fault draw over a matrix's tiles: how the cells are programmed (the sign encoding, its
    bit widths, per-column quantization) and how they fail (the rates, the generators and the
    options: one slice, stuck lines)."""

    encoding: str                # sign encoding name (simulator.mapping.encoding)
    weight_bits: int             # bits of a quantized weight, sign included
    cell_bits: int               # bits one cell holds (a slice's width)
    rates: FaultRates            # per-cell stuck-off / stuck-on probabilities
    rng: np.random.Generator     # cell faults: one draw per tile, tiles in list order
    per_column: bool = False     # quantization scale per column of W rather than per matrix
    slice_index: int | None = None           # faults confined to this slice (None: every slice)
    lines: LineRates | None = None           # stuck wordlines / bitlines (None: none drawn)
    line_rng: np.random.Generator | None = None   # their own generator, needed with `lines`


def tile_fault_codes(tiles: list[Tile], draw: TileDraw) -> list[np.ndarray]:
    """Fault codes of every cell of every tile, each shaped ``(polarities, S, len(rows), len(cols))``.

    Cell faults come from ``draw.rng``, one draw per tile in list order (so a seeded generator gives
    the same faults); stuck lines, whenever ``draw.lines`` is given (even at rate 0, so that a layer
    whose rates are scaled to 0 still advances ``draw.line_rng`` like the others), from their own
    ``draw.line_rng``, so turning line faults on does not move a single cell fault."""
    enc = get_encoding(draw.encoding)
    arrays = (enc.polarities, enc.slices(draw.weight_bits, draw.cell_bits))
    lines, line_rng = draw.lines, draw.line_rng
    if lines is not None and line_rng is None:
        raise ValueError("line faults need their own generator (line_rng)")
    out = []
    for tile in tiles:
        shape = arrays + (len(tile.rows), len(tile.cols))
        codes = draw_cell_faults(shape, draw.rates, draw.rng, slice_index=draw.slice_index, slice_axis=1)
        if lines is not None and line_rng is not None:   # both or neither (checked above)
            codes = merge_faults(codes, draw_line_faults(shape, lines, line_rng, draw.slice_index))
        out.append(codes)
    return out


def faulty_levels(W: np.ndarray, tiles: list[Tile], draw: TileDraw) -> tuple[Quantized, list[np.ndarray]]:
    """The quantized ``W`` and the cell levels of every tile after stuck-at faults.

    Quantizes ``W`` (``quantize(W, draw.weight_bits, draw.per_column)``), programs each tile's cells
    (held positions with their weight, other covered positions with zero) and draws faults for every
    cell of the tile: levels shaped ``(polarities, S, len(rows), len(cols))``, one draw per tile,
    tiles in list order, so a seeded ``draw.rng`` gives the same levels. ``draw.slice_index``
    confines faults to one slice (seed 001's single bit position); ``draw.lines`` adds whole stuck
    wordlines / bitlines drawn from ``draw.line_rng`` (`tile_fault_codes`). The bit-true emulation
    (simulator/faults/bit_true.py) reads these levels.
    """
    quantized, drawn = faulty_tiles(W, tiles, draw)
    return quantized, [levels for levels, _ in drawn]


def faulty_tiles(W: np.ndarray, tiles: list[Tile],
                 draw: TileDraw) -> tuple[Quantized, list[tuple[np.ndarray, np.ndarray]]]:
    """`faulty_levels` with each tile's fault codes beside its levels (the device model reads a
    stuck cell differently from a programmed one: simulator.faults.device_draws)."""
    W = _matrix(W)
    enc = get_encoding(draw.encoding)
    quantized = quantize(W, draw.weight_bits, per_column=draw.per_column)
    codes = tile_fault_codes(tiles, draw)
    out = []
    for tile, tile_codes in zip(tiles, codes):
        programmed = np.where(tile.held, _block(quantized.q, tile.rows, tile.cols), 0)
        out.append((apply_faults(enc.encode(programmed, draw.weight_bits, draw.cell_bits), tile_codes,
                                 draw.cell_bits), tile_codes))
    return quantized, out


def _block(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``a[np.ix_(rows, cols)]``, as a view where rows and columns are runs of consecutive
    indices (a tile of an unreordered mapping): no gather of 65 thousand weights per tile and draw."""
    if _run(rows) and _run(cols):
        return a[int(rows[0]):int(rows[0]) + len(rows), int(cols[0]):int(cols[0]) + len(cols)]
    return a[np.ix_(rows, cols)]


def _run(index: np.ndarray) -> bool:
    return bool(index.size) and bool((np.diff(index) == 1).all())


def _matrix(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be an (R, C) matrix, got shape {W.shape}")
    return W


@dataclass(frozen=True)
class FaultMap:
    """One fault draw frozen over the tiles of one (R, C) matrix, and the quantization scale the
    chip was programmed with; `effective` / `values_at` give what the chip computes for any
    weights put through these stuck cells."""

    encoding: str
    weight_bits: int
    cell_bits: int
    scale: np.ndarray    # 0-d (per layer) or (1, C) (per column), fixed at programming time
    held: np.ndarray     # bool (R, C): positions a tile programs with their weight
    faulty: np.ndarray   # bool (R, C): positions with a stuck cell in some tile that covers them
    offset: np.ndarray   # int64 (R, C): decoded stuck cells of covering tiles that hold zero there
    index: np.ndarray    # int64 (n,), sorted: flat positions whose holding tile has a stuck cell
    codes: np.ndarray    # int8 (polarities, S, n): the holding tile's fault codes at those positions

    @classmethod
    def build(cls, W: np.ndarray, tiles: list[Tile], codes: list[np.ndarray], encoding: str,
              weight_bits: int, cell_bits: int, per_column: bool = False) -> FaultMap:
        """The map of ``codes`` (one array per tile, `tile_fault_codes`) over ``tiles``; the scale is
        that of ``quantize(W, weight_bits, per_column)``."""
        W = _matrix(W)
        enc = get_encoding(encoding)
        n_cols = W.shape[1]
        held = np.zeros(W.shape, dtype=bool)
        faulty = np.zeros(W.shape, dtype=bool)
        offset = np.zeros(W.shape, dtype=np.int64)
        index_parts, code_parts = [], []
        for tile, tile_codes in zip(tiles, codes, strict=True):
            where = np.ix_(tile.rows, tile.cols)
            held[where] |= tile.held
            bad = (tile_codes != HEALTHY).any(axis=(0, 1))
            faulty[where] |= bad
            i, j = np.nonzero(tile.held & bad)
            index_parts.append(tile.rows[i] * n_cols + tile.cols[j])
            code_parts.append(tile_codes[:, :, i, j])
            i, j = np.nonzero(~tile.held & bad)
            if i.size:
                zeros = enc.encode(np.zeros(i.size, dtype=np.int32), weight_bits, cell_bits)
                stuck = apply_faults(zeros, tile_codes[:, :, i, j], cell_bits)
                offset[tile.rows[i], tile.cols[j]] += enc.decode(stuck, weight_bits, cell_bits)
        shape = (enc.polarities, enc.slices(weight_bits, cell_bits))
        index = np.concatenate(index_parts) if index_parts else np.zeros(0, dtype=np.int64)
        stacked = np.concatenate(code_parts, axis=2) if code_parts else np.zeros(shape + (0,), dtype=np.int8)
        order = np.argsort(index, kind="stable")
        scale = quantize(W, weight_bits, per_column=per_column).scale
        return cls(enc.name, weight_bits, cell_bits, scale, held, faulty, offset,
                   index[order].astype(np.int64), stacked[:, :, order])

    def program(self, W: np.ndarray) -> np.ndarray:
        """Integer codes the tiles hold for ``W`` at the fixed scale (``quantize``'s rounding,
        clipped to the weight range; 0 where no tile holds a weight)."""
        return self._codes(_matrix(W), self.scale) * self.held

    def _codes(self, values: np.ndarray, scale: np.ndarray) -> np.ndarray:
        x = values / scale
        q = (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)
        top = qmax(self.weight_bits)
        return np.clip(q, -top, top)

    def _stuck(self, q: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """What the stuck cells of the holding tile add to held codes ``q``."""
        enc = get_encoding(self.encoding)
        levels = apply_faults(enc.encode(q, self.weight_bits, self.cell_bits), codes, self.cell_bits)
        return enc.decode(levels, self.weight_bits, self.cell_bits) - q

    def effective(self, W: np.ndarray) -> np.ndarray:
        """Float (R, C) weights the faulty chip computes when ``W`` is programmed into it."""
        # C order, so that reshape(-1) is a view the corrections land in (W may be a transpose).
        total = np.ascontiguousarray(self.program(W) + self.offset)
        if self.index.size:
            flat = total.reshape(-1)
            flat[self.index] += self._stuck(flat[self.index] - self.offset.reshape(-1)[self.index], self.codes)
        return total * self.scale

    def values_at(self, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
        """`effective` at flat ``positions`` only, when those positions hold ``values``: the
        chip's value of each weight depends on its own cells alone."""
        positions = np.asarray(positions, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        scale = self.scale.reshape(-1)[positions % self.held.shape[1]] if self.scale.ndim else self.scale
        q = self._codes(values, scale) * self.held.reshape(-1)[positions]
        out = q + self.offset.reshape(-1)[positions]
        if self.index.size:
            slots = np.minimum(np.searchsorted(self.index, positions), self.index.size - 1)
            hit = self.index[slots] == positions
            out[hit] += self._stuck(q[hit], self.codes[:, :, slots[hit]])
        return out * scale


def draw_fault_map(W: np.ndarray, tiles: list[Tile], draw: TileDraw) -> FaultMap:
    """One fault draw over the tiles of ``W`` (`tile_fault_codes`), frozen as a `FaultMap`."""
    codes = tile_fault_codes(tiles, draw)
    return FaultMap.build(W, tiles, codes, draw.encoding, draw.weight_bits, draw.cell_bits, draw.per_column)


def faulty_matrix(W: np.ndarray, tiles: list[Tile], draw: TileDraw) -> np.ndarray:
    """Float (R, C) weights the crossbars compute with after stuck-at faults.

    The same draws as `faulty_levels`, decoded: each covered position gets the sum of its tiles'
    decoded cells, times the quantization scale. With zero rates the result equals
    ``dequantize(quantize(W))`` exactly provided every nonzero is held by some tile.
    """
    return draw_fault_map(W, tiles, draw).effective(W)
