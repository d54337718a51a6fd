"""Pore geometry of a periodic framework, measured on a grid (zeo++'s quantities, vectorised).

The framework is a union of hard spheres (zeo++'s default radii, ``molgnn.chem.forcefield``). On a
grid of spacing ``spacing`` over the cell, each node holds the radius of the largest sphere centred
there that touches no atom, ``D = min_j (|p - x_j| - r_j)`` (a k-d tree over the periodic images of
the atoms). From that one field:

* largest cavity diameter ``lcd``: ``2 max D``, refined off the grid by a local maximisation;
* pore-limiting diameter ``pld``: the largest sphere that can travel through the crystal, i.e.
  ``2 r`` for the largest ``r`` at which the nodes ``D >= r`` still form a component that connects
  to its own periodic image (bisection on ``r``; components labelled with ``scipy.ndimage.label``
  and joined across the cell faces by a union-find that tracks the image each join leads to);
* accessible volume ``av_*``: nodes where the centre of the probe ``probe_radius`` fits and that
  belong to such a percolating channel (pockets the probe cannot reach are excluded, as zeo++ does);
* accessible surface ``asa_*``: points spread evenly on every atom's sphere grown by the probe
  radius, kept when inside no other grown sphere and next to an accessible node;
* probe-occupiable void fraction and pore volume (``void_fraction``, ``pore_volume``) for the
  smaller probe ``void_probe_radius`` (He by default): the volume swept by that probe over its
  accessible channel nodes.

Written here rather than calling zeo++ (PyPI ``pyzeo``) because the grid gives all of these in
about 0.1-0.3 s per crafted726 structure where zeo++ needs a Voronoi decomposition per call and its
high-accuracy mode (the one crafted726's ``structural_data.csv`` used for LCD and PLD) over a minute;
``benchmarks/co2.py`` measures both against that table. A structure with no room for the probe is
a valid result: zero accessible volume and surface, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize
from scipy.spatial import cKDTree

from molgnn.chem.crystal import Crystal
from molgnn.chem.errors import DescriptorError
from molgnn.chem.forcefield import AVOGADRO, density, framework_mass, zeo_radii
from molgnn.chem.neighbors import periodic_images
from molgnn.errors import ConfigError


@dataclass(frozen=True)
class PoreGeometry:
    """Pore descriptors of a crystal; call it on a ``Crystal`` for the vector of ``names``.

    Args:
        probe_radius: probe for the accessible surface and volume, Å (1.65: CO2, as crafted726's
            zeo++ table).
        void_probe_radius: probe for the void fraction and pore volume, Å (1.3: helium).
        spacing: grid spacing, Å (coarsened for large cells so the grid has at most ``max_nodes``).
        max_nodes: cap on grid nodes (memory and time per structure).
        surface_points: points per atom sphere for the surface area.
    """

    probe_radius: float = 1.65
    void_probe_radius: float = 1.3
    spacing: float = 0.4
    max_nodes: int = 400_000
    surface_points: int = 100

    names = ("density", "lcd", "pld", "asa_gravimetric", "asa_volumetric", "av_fraction", "av_volume",
             "void_fraction", "pore_volume")
    units = ("g/cm3", "Å", "Å", "m2/g", "m2/cm3", "1", "cm3/g", "1", "cm3/g")

    def __post_init__(self):
        if not (self.probe_radius >= 0 and self.void_probe_radius >= 0 and self.spacing > 0):
            raise ConfigError("probe radii must be >= 0 and the grid spacing > 0")

    def __call__(self, crystal: Crystal) -> np.ndarray:
        values = self.analyse(crystal)
        return np.array([values[name] for name in self.names], dtype=np.float64)

    def analyse(self, crystal: Crystal) -> dict[str, float]:
        """The descriptors of ``names`` as a dict; ``DescriptorError`` names a structure they fail on."""
        lattice = np.asarray(crystal.lattice, dtype=np.float64)
        volume = abs(float(np.linalg.det(lattice)))
        if len(crystal) == 0 or not volume > 0:
            raise DescriptorError(crystal.id, "no atoms or a cell without volume")
        field = _SphereField(crystal)
        shape = _grid_shape(lattice, self.spacing, self.max_nodes)
        frac = _grid_fractions(shape)
        free = field.free_radius(frac @ lattice).reshape(shape)
        passable = field.voxel_best(frac, free.ravel(), shape).reshape(shape)
        rho = density(crystal.numbers, volume)
        node_volume = volume / free.size

        channel = percolating(passable >= self.probe_radius) & (free >= self.probe_radius)
        surface = self._surface_area(field, crystal, lattice, shape, channel)
        void = self._occupiable_nodes(free, passable, frac @ lattice, lattice, shape)
        mass = framework_mass(crystal.numbers) / AVOGADRO  # g per cell
        return {
            "density": rho,
            "lcd": 2.0 * field.largest_sphere(frac @ lattice, free.ravel()),
            "pld": 2.0 * _limiting_radius(passable),
            "asa_gravimetric": surface * 1e-20 / mass,
            "asa_volumetric": surface / volume * 1e4,
            "av_fraction": channel.mean(),
            "av_volume": channel.sum() * node_volume * 1e-24 / mass,
            "void_fraction": void / free.size,
            "pore_volume": void * node_volume * 1e-24 / mass,
        }

    def _surface_area(self, field: _SphereField, crystal: Crystal, lattice, shape, channel) -> float:
        """Accessible surface, Å^2 per cell: evenly spread points on each grown sphere of the cell's atoms."""
        if not channel.any():
            return 0.0
        grown = zeo_radii(crystal.numbers) + self.probe_radius
        directions = _sphere_points(self.surface_points)
        points = (crystal.cart[:, None, :] + grown[:, None, None] * directions[None]).reshape(-1, 3)
        outside = field.free_radius(points) >= self.probe_radius - 1e-6
        reachable = _next_to(channel, points @ np.linalg.inv(lattice), shape)
        kept = (outside & reachable).reshape(len(crystal), -1).mean(axis=1)
        return float((4.0 * np.pi * grown**2 * kept).sum())

    def _occupiable_nodes(self, free, passable, cart, lattice, shape) -> int:
        """Nodes the void probe's sphere can cover from the centres it can reach."""
        centres = percolating(passable >= self.void_probe_radius) & (free >= self.void_probe_radius)
        if not centres.any():
            return 0
        shell = (free >= 0.0) & ~centres
        if not shell.any():
            return int(centres.sum())
        reach = self.void_probe_radius
        centre_frac = np.argwhere(centres) + 0.5
        images, _ = periodic_images(lattice, centre_frac / np.array(shape), reach + 1e-6)
        distance, _ = cKDTree(images).query(cart.reshape(*shape, 3)[shell], k=1, distance_upper_bound=reach + 1e-9)
        return int(centres.sum() + np.isfinite(distance).sum())


class _SphereField:
    """``D(p) = min_j (|p - x_j| - r_j)`` over the periodic images of a crystal's atoms.

    One k-d tree per distinct radius: the nearest centre of each radius class, minus that radius,
    minimised over the classes (a handful of nearest-neighbour queries instead of a k-nearest one).
    """

    def __init__(self, crystal: Crystal):
        self.lattice = np.asarray(crystal.lattice, dtype=np.float64)
        self.frac = np.mod(crystal.frac, 1.0)
        self.radii = zeo_radii(crystal.numbers)
        self.margin = 0.0
        self._grow(6.0 + float(self.radii.max()))

    def _grow(self, margin: float) -> None:
        self.margin = margin
        images, atom = periodic_images(self.lattice, self.frac, margin)
        radii = self.radii[atom]
        self.classes = [(float(r), cKDTree(images[radii == r])) for r in np.unique(radii)]

    def free_radius(self, points: np.ndarray, nearest: bool = False):
        """``D`` at ``points`` (Cartesian, inside or near the cell), Å; negative inside an atom.

        With ``nearest``, also the position of the atom whose surface is the nearest to each point.
        """
        free, closest = np.full(len(points), np.inf), np.zeros((len(points), 3))
        for radius, tree in self.classes:
            distance, index = tree.query(points, k=1, distance_upper_bound=self.margin)
            better = distance - radius < free
            free[better] = distance[better] - radius
            if nearest:
                closest[better] = tree.data[index[better]]
        if not np.isfinite(free).all():  # a point farther than the margin from every atom: a large pore
            self._grow(2.0 * self.margin)
            return self.free_radius(points, nearest)
        return (free, closest) if nearest else free

    def voxel_best(self, frac: np.ndarray, free: np.ndarray, shape) -> np.ndarray:
        """A better estimate of the largest ``D`` in each node's voxel: one step up the gradient.

        ``D`` rises at unit rate away from the nearest atom surface, so a step of half a node from
        the node centre, kept inside the voxel, finds the window centres that the grid nodes miss
        (pore-limiting diameters from node values alone come out about one node spacing narrow).
        """
        best = free.copy()
        open_nodes = np.flatnonzero(free > 0)
        if not len(open_nodes):
            return best
        half = 0.5 / np.array(shape)
        start = frac[open_nodes] @ self.lattice
        _, atoms = self.free_radius(start, nearest=True)
        away = start - atoms
        away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-12)
        step = np.linalg.norm(self.lattice, axis=1) * half  # half a node along each axis, Å
        target = np.clip((start + away * step.min()) @ np.linalg.inv(self.lattice), frac[open_nodes] - half,
                         frac[open_nodes] + half)
        best[open_nodes] = np.maximum(free[open_nodes], self.free_radius(target @ self.lattice))
        return best

    def largest_sphere(self, cart: np.ndarray, free: np.ndarray) -> float:
        """The largest free radius, from the best grid node refined by Nelder-Mead off the grid."""
        start = cart[int(np.argmax(free))]
        result = optimize.minimize(lambda p: -self.free_radius(p[None])[0], start, method="Nelder-Mead",
                                   options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 400})
        return max(float(-result.fun), float(free.max()))


def _grid_shape(lattice: np.ndarray, spacing: float, max_nodes: int) -> tuple[int, int, int]:
    lengths = np.linalg.norm(lattice, axis=1)
    shape = np.maximum(np.ceil(lengths / spacing), 4)
    if shape.prod() > max_nodes:
        shape = np.maximum(np.floor(shape * (max_nodes / shape.prod()) ** (1 / 3)), 4)
    return tuple(int(n) for n in shape)


def _grid_fractions(shape: tuple[int, int, int]) -> np.ndarray:
    """Fractional coordinates of the node centres, ``[n1 * n2 * n3, 3]`` in C order."""
    axes = [(np.arange(n) + 0.5) / n for n in shape]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def _sphere_points(count: int) -> np.ndarray:
    """``count`` nearly evenly spread unit vectors (Fibonacci lattice)."""
    k = np.arange(count) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / count)
    azimuth = np.pi * (1.0 + 5**0.5) * k
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


def _next_to(mask: np.ndarray, frac: np.ndarray, shape) -> np.ndarray:
    """Whether any of the 8 nodes around each fractional point is in ``mask`` (periodic)."""
    n = np.array(shape)
    low = np.floor(np.mod(frac, 1.0) * n - 0.5).astype(np.int64)
    found = np.zeros(len(frac), dtype=bool)
    for corner in np.ndindex(2, 2, 2):
        i, j, k = ((low + np.array(corner)) % n).T
        found |= mask[i, j, k]
    return found


def _limiting_radius(free: np.ndarray, tolerance: float = 0.005) -> float:
    """The largest ``r`` at which the nodes ``free >= r`` percolate (0 when none do at ``r = 0``)."""
    low, high = 0.0, float(free.max())
    if not percolating(free >= low).any():
        return 0.0
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        if percolating(free >= middle).any():
            low = middle
        else:
            high = middle
    return low


def percolating(mask: np.ndarray) -> np.ndarray:
    """The nodes of ``mask`` (a periodic 3-D grid) in components that connect to their own images.

    Components of the grid inside one cell are labelled (6-connectivity); nodes on opposite faces
    join them across the cell boundary. A union-find over components records, for each component,
    which cell its copy sits in relative to its root; a join between two copies of one root in
    different cells means the component runs through the crystal.
    """
    labels, count = ndimage.label(mask)
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    parent = np.arange(count + 1)
    offset = np.zeros((count + 1, 3), dtype=np.int64)  # cell of a component's copy relative to its parent's
    runs_through = np.zeros(count + 1, dtype=bool)

    def find(x: int) -> tuple[int, np.ndarray]:
        shift = np.zeros(3, dtype=np.int64)
        while parent[x] != x:
            shift += offset[x]
            x = parent[x]
        return x, shift

    for axis in range(3):
        last, first = np.take(labels, -1, axis=axis), np.take(labels, 0, axis=axis)
        touching = (last > 0) & (first > 0)
        step = np.eye(3, dtype=np.int64)[axis]
        for u, v in np.unique(np.stack([last[touching], first[touching]], axis=1), axis=0):
            # the copy of v one cell along +axis touches u in cell 0
            root_u, shift_u = find(int(u))
            root_v, shift_v = find(int(v))
            relative = step - shift_v + shift_u  # cell of root_v's copy that touches root_u's copy in cell 0
            if root_u == root_v:
                runs_through[root_u] |= bool(relative.any())
            else:
                parent[root_v], offset[root_v] = root_u, relative
                runs_through[root_u] |= runs_through[root_v]
    roots = np.array([find(x)[0] for x in range(count + 1)])
    through = runs_through[roots]
    through[0] = False
    return through[labels]
