"""IR drop in a resistive crossbar: an exact nodal solve and the fast model the accuracy pass uses.

The circuit (the one NeuroSim and aihwkit reason about): an N x M array, row i a wordline driven
at one end (column 0) by an ideal source v_i, column j a bitline read at one end (row N-1) by a
sense amplifier that holds it at virtual ground (0 V). Cell (i, j) is a linear conductance g_ij
between wordline node (i, j) and bitline node (i, j). Every wire segment between neighbouring
cells, and the one from the driver to the first cell and from the last cell to the sense
amplifier, has resistance r (`r_wire_ohm`). So the far corner (row 0, column M-1) sees the largest
drop: its current crosses M wordline and N bitline segments. The column current is what reaches
the sense amplifier, the sum of the column's cell currents. A row whose input is 0 is driven at
0 V, not left floating, so it sinks a small current from its raised bitlines.

Exact (`column_currents_exact`): Kirchhoff's current law at the 2 N M wire nodes, one sparse
symmetric positive definite system (scipy.sparse, spsolve).

Fast (`attenuation`, `column_currents_fast`): with cell currents I given, each line is a chain
fed from one end, so its voltages follow from I in closed form: the wordline drop at column j is
r sum_{k<=j} sum_{l>=k} I_il (current through each upstream segment), the bitline rise at row i is
r sum_{k>=i} sum_{l<=k} I_lj. So the cell voltages solve

    I / g + r L(I) = v        (per cell; L = the two chains' cumulative sums, symmetric PSD)

which the fast model solves with a few preconditioned conjugate-gradient sweeps, each O(N M) (four
cumulative sums), batched over any number of arrays, starting from the ideal currents g v. The
first sweep is the textbook first-order line-voltage correction; the later ones converge on the
exact solution because the system is symmetric positive definite whatever r and g (a plain
fixed-point iteration I <- g (v - r L(I)) diverges once r g_on N^2 passes about 1, the case of
long lines with low-resistance cells). The model is therefore exact up to the iteration's
tolerance; its limits are those of the circuit above (linear cells, no access transistor, ideal
drivers and virtual ground, equal segments) and of `attenuation` without an input, see there.

Realistic parameters (docs/faults.md, "IR drop"): NeuroSim V1.4 (Param.cpp) at 22 nm has a 40 nm
wire of aspect ratio 1.9 and resistivity 2.97e-8 Ohm m before its 2.5 nm barrier correction, so
about 11.6 Ohm per um; its crossbar cell is 2F x 2F (80 nm): 0.93 Ohm per segment, its 1T1R cell
4F x 12F: 1.9 / 5.6 Ohm. Its RRAM has R_on = 100 kOhm (6 kOhm in earlier versions), on/off 17.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

#: Conjugate-gradient sweeps of the fast model at most; every array of the tests (8 to 64 lines,
#: 1-3 Ohm, R_on down to 10 kOhm) meets `TOLERANCE` within 8.
SWEEPS = 12
#: Relative residual (2-norm over the array) at which the fast model stops early.
TOLERANCE = 1e-7
#: A floor on conductances (S) so that an open cell (g = 0) stays in the system; it carries
#: at most 1e-15 of a read current, far below any sense amplifier.
G_FLOOR = 1e-15


def _validated(g: np.ndarray, v: np.ndarray | None, r_wire_ohm: float) -> tuple[np.ndarray, np.ndarray | None]:
    g = np.asarray(g, dtype=float)
    if g.ndim < 2 or g.shape[-1] == 0 or g.shape[-2] == 0:
        raise ValueError(f"conductances must be rows x columns (per array), got shape {g.shape}")
    if (g < 0).any() or not np.isfinite(g).all():
        raise ValueError("conductances must be finite and non-negative (siemens)")
    if not np.isfinite(r_wire_ohm) or r_wire_ohm < 0:
        raise ValueError(f"r_wire_ohm must be a finite resistance >= 0, got {r_wire_ohm}")
    if v is None:
        return g, None
    v = np.asarray(v, dtype=float)
    if v.shape[-1:] != g.shape[-2:-1]:
        raise ValueError(f"inputs of shape {v.shape} do not match {g.shape[-2]} rows")
    return g, v


def column_currents_exact(g: np.ndarray, v: np.ndarray, r_wire_ohm: float) -> np.ndarray:
    """Column currents (A, shape (M,)) of one N x M array of conductances `g` (S) driven by row
    voltages `v` (V, shape (N,)), from the full nodal solve of the crossbar with `r_wire_ohm` per
    wire segment (module docstring). With r_wire_ohm = 0 the result is g^T v."""
    g, v_checked = _validated(g, v, r_wire_ohm)
    assert v_checked is not None
    if g.ndim != 2 or v_checked.ndim != 1:
        raise ValueError("column_currents_exact solves one array: g (N, M), v (N,)")
    if r_wire_ohm == 0:
        return g.T @ v_checked
    rows, cols = g.shape
    cells = rows * cols
    wire = 1.0 / r_wire_ohm
    word = np.arange(cells).reshape(rows, cols)        # wordline node of cell (i, j)
    bit = cells + word                                 # bitline node of cell (i, j)
    # Two-terminal edges between unknown nodes: cells, wordline segments, bitline segments.
    ends_a = np.concatenate([word.ravel(), word[:, :-1].ravel(), bit[:-1, :].ravel()])
    ends_b = np.concatenate([bit.ravel(), word[:, 1:].ravel(), bit[1:, :].ravel()])
    conductance = np.concatenate([g.ravel(), np.full(rows * (cols - 1), wire), np.full((rows - 1) * cols, wire)])
    diagonal: np.ndarray = np.asarray(
        np.bincount(ends_a, conductance, 2 * cells) + np.bincount(ends_b, conductance, 2 * cells), dtype=float)
    # Segments to fixed potentials: each driver into column 0, each bitline's last node to 0 V.
    diagonal[word[:, 0]] += wire
    diagonal[bit[-1, :]] += wire
    rhs = np.zeros(2 * cells)
    rhs[word[:, 0]] = wire * v_checked
    index = np.arange(2 * cells)
    matrix = scipy.sparse.coo_matrix(
        (np.concatenate([diagonal, -conductance, -conductance]),
         (np.concatenate([index, ends_a, ends_b]), np.concatenate([index, ends_b, ends_a]))),
        shape=(2 * cells, 2 * cells)).tocsc()
    potentials = scipy.sparse.linalg.spsolve(matrix, rhs)
    return np.asarray(wire * potentials[bit[-1, :]])


def _line_operator(currents: np.ndarray) -> np.ndarray:
    """L(I) / r: wordline drop plus bitline rise at every cell, from the cell currents `currents`
    (..., N, M)."""
    upstream_word = np.flip(np.cumsum(np.flip(currents, -1), -1), -1)   # through segment k of a row
    upstream_bit = np.cumsum(currents, -2)                                # through segment k of a column
    return np.cumsum(upstream_word, -1) + np.flip(np.cumsum(np.flip(upstream_bit, -2), -2), -2)


def _cell_currents(g: np.ndarray, v: np.ndarray, r_wire_ohm: float, sweeps: int, tolerance: float) -> np.ndarray:
    """Cell currents (..., N, M) of arrays `g` driven by `v` (..., N) by preconditioned conjugate
    gradients on I / g + r L(I) = v."""
    drive = np.broadcast_to(v[..., :, None], g.shape)
    if r_wire_ohm == 0:
        return g * drive
    inverse_g = 1.0 / np.maximum(g, G_FLOOR)
    rows, cols = g.shape[-2:]
    line_diagonal = (np.arange(1, cols + 1)[None, :] + np.arange(rows, 0, -1)[:, None]).astype(float)
    preconditioner = 1.0 / (inverse_g + r_wire_ohm * line_diagonal)

    def apply(x: np.ndarray) -> np.ndarray:
        return inverse_g * x + r_wire_ohm * _line_operator(x)

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum("...ij,...ij->...", a, b)[..., None, None]

    currents = g * drive
    residual = drive - apply(currents)
    scale = np.sqrt(dot(drive, drive)) + 1e-300
    z = preconditioner * residual
    direction = z
    rz = dot(residual, z)
    for _ in range(sweeps):
        if (np.sqrt(dot(residual, residual)) <= tolerance * scale).all():
            break
        image = apply(direction)
        curvature = dot(direction, image)
        step = np.divide(rz, curvature, out=np.zeros_like(rz), where=curvature > 0)
        currents = currents + step * direction
        residual = residual - step * image
        z = preconditioner * residual
        rz_next = dot(residual, z)
        beta = np.divide(rz_next, rz, out=np.zeros_like(rz), where=rz > 0)
        direction = z + beta * direction
        rz = rz_next
    return currents


def attenuation(g: np.ndarray, r_wire_ohm: float, v: np.ndarray | None = None, *,
                sweeps: int = SWEEPS, tolerance: float = TOLERANCE) -> np.ndarray:
    """Per-cell factor (same shape as `g`, (..., N, M)) such that g * factor is the conductance
    each cell effectively presents to the input once the wire drops are accounted for: the cell's
    voltage over its row's drive.

    Without `v` the factor is input-independent: every row driven at the same voltage (the
    circuit is linear, so the level does not matter). That is the heaviest load a column sees, so
    for sparser or smaller inputs it overstates the drop; pass a representative input (for
    instance the mean activation of each row) to use its load instead. Rows driven at 0 V get
    factor 1: the small current they sink from the raised bitlines has no input to scale, and is
    only in `column_currents_fast`.
    """
    g, v = _validated(g, v, r_wire_ohm)
    if v is None:
        v = np.ones(g.shape[-2])
    currents = _cell_currents(g, v, r_wire_ohm, sweeps, tolerance)
    drive = np.broadcast_to(v[..., :, None], g.shape)
    cell_voltage = np.broadcast_to(v[..., :, None], g.shape) - r_wire_ohm * _line_operator(currents)
    factor = np.ones(np.broadcast_shapes(g.shape, drive.shape))
    np.divide(cell_voltage, drive, out=factor, where=drive != 0)
    return factor


def column_currents_fast(g: np.ndarray, v: np.ndarray, r_wire_ohm: float, *,
                         sweeps: int = SWEEPS, tolerance: float = TOLERANCE) -> np.ndarray:
    """Column currents (A, (..., M)) of arrays `g` (S, (..., N, M)) driven by `v` (V, (..., N)),
    from the fast model (module docstring)."""
    g, v_checked = _validated(g, v, r_wire_ohm)
    assert v_checked is not None
    return _cell_currents(g, v_checked, r_wire_ohm, sweeps, tolerance).sum(axis=-2)
