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


def periodic_images(lattice: np.ndarray, frac: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian positions of every periodic image of the atoms within ``margin`` Å of the cell.

    Returns ``(cart [M, 3], atom [M])``: the images (the atoms themselves included) and the index
    of the atom each one is an image of. A point inside the cell finds every atom within
    ``margin`` of it among these images, which is what a k-d tree over them needs.
    """
    lattice = np.asarray(lattice, dtype=np.float64)
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(lattice).T, axis=1)  # distance between lattice planes
    reach = margin / spacing  # the margin in fractional units along each axis
    steps = [np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1) for r in reach]
    shifts = np.stack(np.meshgrid(*steps, indexing="ij"), axis=-1).reshape(-1, 3)
    wrapped = np.mod(frac, 1.0)
    images = wrapped[None, :, :] + shifts[:, None, :]
    keep = np.all((images > -reach) & (images < 1.0 + reach), axis=-1)
    atom = np.broadcast_to(np.arange(len(frac)), keep.shape)[keep]
    return images[keep] @ lattice, atom
