"""Periodic neighbour lists with pymatgen's C-accelerated cell-list search."""

from __future__ import annotations

import numpy as np
from pymatgen.optimization.neighbors import find_points_in_spheres

_PERIODIC = np.ones(3, dtype=np.int64)


def periodic_neighbors(lattice: np.ndarray, frac: np.ndarray, cutoff: float) -> tuple[np.ndarray, ...]:
    """All pairs of atoms closer than ``cutoff`` Å, over periodic images, self-pairs excluded.

    Returns ``(centers, neighbors, offsets, distances)``: the neighbour's position is
    ``(frac[neighbors] + offsets) @ lattice``; offsets are integer image vectors.
    """
    lattice = np.ascontiguousarray(lattice, dtype=np.float64)
    cart = np.ascontiguousarray(frac @ lattice)
    centers, neighbors, offsets, distances = find_points_in_spheres(
        cart, cart, r=float(cutoff), pbc=_PERIODIC, lattice=lattice, tol=1e-8
    )
    offsets = np.rint(offsets).astype(np.int64)
    self_pair = (centers == neighbors) & ~offsets.any(axis=1)
    keep = ~self_pair
    return centers[keep].astype(np.int64), neighbors[keep].astype(np.int64), offsets[keep], distances[keep]
