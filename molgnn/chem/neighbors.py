"""Periodic neighbour lists with pymatgen's C-accelerated cell-list search, bounded before it starts."""

from __future__ import annotations

import math

import numpy as np
from pymatgen.optimization.neighbors import find_points_in_spheres

from molgnn.chem.errors import InvalidStructureError

_PERIODIC = np.ones(3, dtype=np.int64)
# Pairs and periodic image points a search may hold (about 50 bytes each: 0.5 GB at most). A dense
# 5000-atom solid within 8 Å has about 2e6 pairs; a cell far smaller than the cutoff would need billions.
MAX_SEARCH_SIZE = 10_000_000


def search_size(lattice: np.ndarray, n_atoms: int, cutoff: float) -> tuple[float, float]:
    """``(pairs, image points)`` that a neighbour search of ``n_atoms`` atoms in ``lattice`` within ``cutoff`` Å
    holds: the expected number of pairs at the cell's mean density, and the atoms times the periodic
    images of the cell that the search enumerates (those within ``cutoff`` of it along each axis)."""
    lattice = np.asarray(lattice, dtype=np.float64)
    volume = abs(float(np.linalg.det(lattice)))
    spacing = volume / np.linalg.norm(np.cross(lattice[[1, 2, 0]], lattice[[2, 0, 1]]), axis=1)  # between lattice planes
    if not volume > 0 or not np.all(spacing > 0):
        return math.inf, math.inf
    pairs = n_atoms * n_atoms / volume * 4.0 / 3.0 * math.pi * cutoff ** 3
    images = n_atoms * float(np.prod(2 * np.ceil(cutoff / spacing) + 1))
    return pairs, images


def periodic_neighbors(lattice: np.ndarray, frac: np.ndarray, cutoff: float,
                       input_id: object = "structure") -> tuple[np.ndarray, ...]:
    """All pairs of atoms closer than ``cutoff`` Å, over periodic images, self-pairs excluded.

    Returns ``(centers, neighbors, offsets, distances)``: the neighbour's position is
    ``(frac[neighbors] + offsets) @ lattice``; offsets are integer image vectors.

    Raises:
        InvalidStructureError: naming ``input_id`` before searching, when the search would hold more
            than ``MAX_SEARCH_SIZE`` pairs or image points (``search_size``): a cell much smaller than
            the cutoff, which would otherwise allocate without bound.
    """
    pairs, images = search_size(lattice, len(frac), cutoff)
    if max(pairs, images) > MAX_SEARCH_SIZE:
        raise InvalidStructureError(input_id, f"a neighbour search within {cutoff:g} Å would hold about "
                                              f"{max(pairs, images):.3g} pairs or image points (limit {MAX_SEARCH_SIZE:.0e}): "
                                              "the cell is too small or too dense for its atoms")
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
