"""The on-chip network between tiles: topology, hops, link bandwidth, energy per bit per hop.

Topologies (tiles numbered 0 .. tiles-1; `tiles_per_router` tiles share a router, ISAAC's
concentrated mesh: "shared by 4 tiles", Table I):

- mesh: routers on a ceil(sqrt(routers)) x ceil(sqrt(routers)) grid in row-major order, XY
  (dimension-order) routing as in MNSIM 2.0's booksim mesh (`MNSIM/NoC/mesh_config`: topology
  mesh, routing_function dor): hops = Manhattan distance between the two routers.
- htree: a binary tree with the tiles at its leaves (NeuroSim V1.4 joins tiles by an H-tree,
  HTree.cpp): up to the lowest common ancestor and down, hops = 2 x bit_length(a XOR b). The tree's
  links at level k (1 = next to the leaves) join blocks 2^((k-1)//2) tile pitches apart, alternating
  horizontal and vertical, so the wire from a child to its parent is half of that.

Per bit: each hop costs the router's energy per bit and each mm of link the wire's energy per bit
(`hwcomponents-library misc.py` Wire: 0.2 fF/um x 0.7^2 V^2 = 0.098 pJ per bit per mm). A mesh
link is one router pitch long: sqrt(tiles_per_router) tile pitches (tiles are taken as squares).
Router energy, area, ports and hop latency are the file's (shipped: ISAAC Table I router, 42 mW
for 8 ports of 32-bit links at 1 GHz, ISAAC Sec. VIII-A); static power is its operating power split
by `leakage_share` at every port busy (base.py). A transfer of b bits over h hops takes
h x hop latency + b / link bandwidth (the flits pipeline behind the head).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from simulator.hardware.chip.base import OperatingSplit


def mesh_side(routers: int) -> int:
    return math.ceil(math.sqrt(routers))


def mesh_hops(a: int, b: int, routers: int) -> int:
    """XY hops between routers a and b on a ceil(sqrt(routers)) grid, row-major."""
    side = mesh_side(routers)
    (ay, ax), (by, bx) = divmod(a, side), divmod(b, side)
    return abs(ax - bx) + abs(ay - by)


def htree_level(a: int, b: int) -> int:
    """Level of the lowest common ancestor of leaves a and b (0: the same leaf)."""
    return (a ^ b).bit_length()


def htree_hops(a: int, b: int) -> int:
    return 2 * htree_level(a, b)


def htree_link_pitches(level: int) -> float:
    """Length of one child-to-parent link at `level`, in tile pitches."""
    return 2 ** ((level - 1) // 2) / 2


def htree_wire_pitches(a: int, b: int) -> float:
    """Wire between leaves a and b, in tile pitches: up and down the same links."""
    return 2 * sum(htree_link_pitches(k) for k in range(1, htree_level(a, b) + 1))


def htree_switches(leaves: int) -> int:
    """Internal nodes of a binary tree over `leaves` leaves (those above at least one real leaf)."""
    count, width = 0, leaves
    while width > 1:
        width = math.ceil(width / 2)
        count += width
    return count


@dataclass(frozen=True)
class Network:
    topology: Literal["mesh", "htree"]
    tiles: int
    tiles_per_router: int
    tile_pitch_mm: float
    hop_latency_ns: float
    link_bits_per_ns: float
    router_energy_per_bit_pj: float   # operating, before the leakage split
    router_ports: int
    router_area_each_um2: float
    wire_energy_per_bit_mm_pj: float
    leakage_share: float

    def routers(self) -> int:
        if self.topology == "htree":
            return htree_switches(self.tiles)
        return math.ceil(self.tiles / self.tiles_per_router)

    def router_of(self, tile: int) -> int:
        if not 0 <= tile < self.tiles:
            raise ValueError(f"tile {tile} is not on a chip of {self.tiles} tiles")
        return tile // self.tiles_per_router

    def hops(self, src: int, dst: int) -> int:
        """Router-to-router hops from tile `src` to tile `dst`."""
        if self.topology == "htree":
            return htree_hops(self.router_of(src), self.router_of(dst))
        return mesh_hops(self.router_of(src), self.router_of(dst), self.routers())

    def wire_mm(self, src: int, dst: int) -> float:
        if self.topology == "htree":
            return htree_wire_pitches(self.router_of(src), self.router_of(dst)) * self.tile_pitch_mm
        return self.hops(src, dst) * self.mesh_link_mm()

    def mesh_link_mm(self) -> float:
        return math.sqrt(self.tiles_per_router) * self.tile_pitch_mm

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.router_energy_per_bit_pj, self.router_ports * self.link_bits_per_ns,
                                 self.leakage_share)

    def router_bit_energy_pj(self) -> float:
        """One bit through one router (dynamic part)."""
        return self.operating().energy_pj

    def wire_bit_energy_pj_per_mm(self) -> float:
        return self.wire_energy_per_bit_mm_pj

    def bit_hop_energy_pj(self) -> float:
        """One bit over one mesh hop: router + one link of wire (the H-tree's links vary: use transfer_energy_pj)."""
        return self.router_bit_energy_pj() + self.wire_energy_per_bit_mm_pj * self.mesh_link_mm()

    def transfer_energy_pj(self, bits: float, src: int, dst: int) -> float:
        return bits * (self.hops(src, dst) * self.router_bit_energy_pj()
                       + self.wire_mm(src, dst) * self.wire_energy_per_bit_mm_pj)

    def transfer_ns(self, bits: float, src: int, dst: int) -> float:
        return self.hops(src, dst) * self.hop_latency_ns + bits / self.link_bits_per_ns

    def router_area_um2(self) -> float:
        return self.router_area_each_um2

    def router_leakage_mw(self) -> float:
        return self.operating().leakage_mw
