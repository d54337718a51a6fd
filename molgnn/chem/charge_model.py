"""Partial charges close to DDEC for structures that carry none: EQeq charges corrected by a small learned model.

GCMC data sets of MOFs (CRAFTED, CoRE MOF) compute the host-guest Coulomb energy with DDEC charges, derived
from a DFT electron density that a new or hypothetical structure does not have. EQeq
(``molgnn.chem.charge_equilibration``) needs nothing but the structure, yet on crafted726 its charges
correlate only r = 0.90 with DDEC (MAE 0.13 e), and a CO2 model fed energies computed with them keeps
about half of what DDEC charges add. The difference is systematic in an atom's bonded environment, so
``LearnedCharges`` predicts it: for each atom, from its EQeq charge and bonded surroundings, a correction
to its EQeq charge; the cell is then shifted uniformly to its total charge.

An atom's features (``FEATURES``): its EQeq charge; its bonded neighbours (closer than ``BOND_FACTOR`` times
the sum of covalent radii) counted by element group, and the sum of their EQeq charges; the same counts and
charge sum over the second shell (neighbours of neighbours, counted once per path). Its element enters as a
learned embedding; elements with fewer than ``MIN_ELEMENT_ATOMS`` training atoms, and elements the model never
saw, share one ``other`` slot (trained on those and on a random ``OTHER_RATE`` of all atoms). The model is a
two-layer perceptron on the standardized features and the embedding. EQeq charges are periodic and the other
inputs local, so a supercell gets the same charges per atom.

What CO2 models see of the charges is the host-guest Coulomb energy, where per-atom errors of the same sign
add up. With ``energy_weight`` > 0 the loss adds that weight times the error of the CO2 Coulomb energy (in kT)
at the ``ENERGY_SITES`` sites of each structure where CO2 binds most with the reference charges (the energy
is linear in the charges: ``HostGuestEnergies.coulomb_design``). On crafted726, out of fold, a weight of 0.3
takes the error of the CO2 descriptors against those computed with DDEC charges down by about a quarter
(120 structures: MAE of ``log10 K_H`` 0.143 to 0.106, heat of adsorption 1.38 to 1.03 kJ/mol; EQeq 0.341 and
3.62) at the price of the per-atom MAE (0.026 to 0.042 e), but the descriptor MLP of ``benchmarks/co2.py`` fed
them barely moves (5 folds, MAE 0.287 and 0.539 mmol/g at 0.1 and 1 bar, against 0.292 and 0.541 with the
charge-only fit). So the default, and the shipped model, fit the charges alone.

Hand-written because no package on the registry predicts DDEC-like charges of periodic structures (PACMAN,
MEPO-ML and the MPNN of Raza et al. are not packaged there). A fitted model is one ``.pt`` file of tensors and
plain values, loaded with ``weights_only``; molgnn ships ``ddec_crafted726.pt`` (fit to the DDEC charges of
the 726 CRAFTED structures by ``models/build_charges.py``; its accuracy is in that file's ``info``).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from molgnn.chem.charge_equilibration import EQeq
from molgnn.chem.crystal import Crystal
from molgnn.chem.errors import InvalidInputError
from molgnn.chem.neighbors import periodic_neighbors
from molgnn.errors import ConfigError

SHIPPED = "ddec-crafted726"  # the shipped model's name: molgnn/chem/ddec_crafted726.pt
BOND_FACTOR = 1.25
MIN_ELEMENT_ATOMS = 50
OTHER_RATE = 0.05  # in training, the share of atoms shown as ``other``: the slot an unseen element gets
FORMAT = 1
ENERGY_SITES = 48  # per structure, the sites of lowest CO2 energy whose Coulomb energy the fit can match
ENERGY_BATCH = 4  # structures whose energies enter each training step
ENERGY_TEMPERATURE = 298.0  # K: energy errors are counted in kT at room temperature
# Element groups of neighbours: H, C, N, O, halogens, S/P/Se, B/Si/Ge, and metals or anything else.
GROUPS = ("H", "C", "N", "O", "halogen", "S_P_Se", "B_Si_Ge", "other")
_GROUP_OF = {1: 0, 6: 1, 7: 2, 8: 3, 9: 4, 17: 4, 35: 4, 53: 4, 16: 5, 15: 5, 34: 5, 5: 6, 14: 6, 32: 6}
FEATURES = ("eqeq", "degree", *(f"bonded_{g}" for g in GROUPS), "bonded_eqeq_sum", "second_eqeq_sum",
            *(f"second_{g}" for g in GROUPS))


def environment_features(crystal: Crystal, eqeq: np.ndarray) -> np.ndarray:
    """``[N, len(FEATURES)]`` float32 features of every atom of ``crystal`` given its ``eqeq`` charges."""
    radii = _covalent_radii()
    numbers = crystal.numbers
    cutoff = 2.0 * BOND_FACTOR * float(radii[numbers].max())
    centers, neighbors, _, distances = periodic_neighbors(crystal.lattice, crystal.frac, cutoff, crystal.id)
    bonded = distances < BOND_FACTOR * (radii[numbers[centers]] + radii[numbers[neighbors]])
    centers, neighbors = centers[bonded], neighbors[bonded]
    n = len(numbers)
    groups = np.zeros((n, len(GROUPS)))
    np.add.at(groups, (centers, _group_index()[numbers[neighbors]]), 1.0)
    charge_sum = np.bincount(centers, weights=eqeq[neighbors], minlength=n)
    second_charge = np.bincount(centers, weights=charge_sum[neighbors], minlength=n)
    second_groups = np.zeros((n, len(GROUPS)))
    np.add.at(second_groups, centers, groups[neighbors])
    return np.column_stack([eqeq, groups.sum(1), groups, charge_sum, second_charge, second_groups]).astype(np.float32)


@cache
def _covalent_radii() -> np.ndarray:
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    return np.array([0.0] + [table.GetRcovalent(z) for z in range(1, 119)])


@cache
def _group_index() -> np.ndarray:
    index = np.full(119, GROUPS.index("other"))
    for z, group in _GROUP_OF.items():
        index[z] = group
    return index


class ChargeNet(nn.Module):
    """The correction to an atom's EQeq charge from its standardized features and its element's embedding."""

    def __init__(self, features: int, element_slots: int, hidden: int = 128, embedding: int = 16):
        super().__init__()
        self.embedding = nn.Embedding(element_slots, embedding)
        self.mlp = nn.Sequential(nn.Linear(features + embedding, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([features, self.embedding(slots)], dim=1)).squeeze(1)


@dataclass(frozen=True)
class FittedChargeModel:
    """A fitted correction: the network, the elements with their own slot, the features' training range (inputs
    are clipped to it, so an environment beyond it is treated as the nearest one seen and the correction stays
    bounded) and standardization, and ``info``."""

    net: ChargeNet
    elements: tuple[int, ...]
    low: torch.Tensor
    high: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    info: dict

    def slots(self, numbers: np.ndarray) -> torch.Tensor:
        """Each atom's embedding slot: its element's, or the last (``other``)."""
        lookup = np.full(119, len(self.elements))
        lookup[list(self.elements)] = np.arange(len(self.elements))
        return torch.from_numpy(lookup[numbers])

    def correction(self, numbers: np.ndarray, features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            clipped = torch.minimum(torch.maximum(torch.from_numpy(features), self.low), self.high)
            standardized = (clipped - self.mean) / self.std
            return self.net(standardized, self.slots(numbers)).double().numpy()

    def charges(self, crystal: Crystal, total_charge: float = 0.0) -> np.ndarray:
        """EQeq charges of ``crystal`` corrected, then shifted uniformly to sum to ``total_charge``."""
        eqeq = EQeq(total_charge=total_charge)(crystal)
        charges = eqeq + self.correction(crystal.numbers, environment_features(crystal, eqeq))
        return charges + (total_charge - charges.sum()) / len(charges)

    def save(self, path: str | Path) -> None:
        torch.save({"format": FORMAT, "features": list(FEATURES), "elements": list(self.elements), "low": self.low,
                    "high": self.high, "mean": self.mean, "std": self.std, "hidden": self.net.mlp[0].out_features,
                    "state": self.net.state_dict(), "info": self.info}, path)

    @classmethod
    def load(cls, path: str | Path) -> FittedChargeModel:
        saved = torch.load(path, weights_only=True)
        if saved.get("format") != FORMAT or saved.get("features") != list(FEATURES):
            raise ConfigError(f"{path} is not a charge model of this molgnn (format {saved.get('format')}, features "
                              f"{saved.get('features')})")
        net = ChargeNet(len(FEATURES), len(saved["elements"]) + 1, hidden=saved["hidden"])
        net.load_state_dict(saved["state"])
        return cls(net.eval(), tuple(saved["elements"]), saved["low"], saved["high"], saved["mean"], saved["std"], saved["info"])


def shipped_path() -> Path:
    return Path(str(importlib.resources.files("molgnn.chem") / "ddec_crafted726.pt"))


def model_path(model: str) -> Path:
    """The file of a charge model: the shipped model's name, or a path to a ``.pt`` written by ``save``."""
    path = shipped_path() if model == SHIPPED else Path(model)
    if not path.is_file():
        raise ConfigError(f"charge model {model!r}: no such file {path} (the shipped model is {SHIPPED!r})")
    return path


@cache
def _load(path: str, mtime: float) -> FittedChargeModel:
    return FittedChargeModel.load(path)


@dataclass(frozen=True)
class LearnedCharges:
    """Charges of a structure: EQeq corrected by a fitted model (``model``: ``SHIPPED`` or a path), summing to
    ``total_charge``.

    Raises (on call) what EQeq raises: ``ChargeEquilibrationError`` naming the structure.
    """

    model: str = SHIPPED
    total_charge: float = 0.0

    @property
    def fitted(self) -> FittedChargeModel:
        path = model_path(self.model)
        return _load(str(path), path.stat().st_mtime)

    def __call__(self, crystal: Crystal) -> np.ndarray:
        return self.fitted.charges(crystal, self.total_charge)


def fit_charge_model(crystals: Sequence[Crystal], epochs: int = 30, hidden: int = 128, seed: int = 0,
                     lr: float = 3e-3, batch_size: int = 512, energy_weight: float = 0.0,
                     designs: Sequence | None = None) -> tuple[FittedChargeModel, list[InvalidInputError]]:
    """Fit the correction to the reference charges that ``crystals`` carry (e.g. DDEC charges read from CIFs).

    The loss is the per-atom L1 error of the charges plus ``energy_weight`` (0: none) times the mean absolute
    error (in kT at 298 K) of the CO2 Coulomb energy at the sites where CO2 binds most with the reference charges
    (``coulomb_designs``; pass ``designs`` to reuse them), ``ENERGY_BATCH`` structures a step: what the
    host-guest descriptors see of the charges. Structures where EQeq fails are left out and returned
    as errors, one each; ``info`` of the model counts what it was fit on.
    """
    if energy_weight and designs is None:
        designs = coulomb_designs(crystals)
    features, numbers, targets, rejects, fitted_ids, fitted_designs = [], [], [], [], [], []
    for k, crystal in enumerate(crystals):
        if crystal.charges is None:
            raise ConfigError(f"{crystal.id}: a structure without reference charges cannot fit a charge model")
        try:
            eqeq = EQeq()(crystal)
        except InvalidInputError as error:
            rejects.append(error.detached())
            continue
        features.append(environment_features(crystal, eqeq))
        numbers.append(crystal.numbers)
        targets.append(crystal.charges - eqeq)
        fitted_ids.append(crystal.id)
        fitted_designs.append(designs[k] if energy_weight else None)
    if not features:
        raise ConfigError("no structure to fit a charge model on")
    bounds = np.cumsum([0, *map(len, features)])
    x, z, y = np.concatenate(features), np.concatenate(numbers), np.concatenate(targets)
    counts = np.bincount(z, minlength=119)
    elements = tuple(int(e) for e in np.flatnonzero(counts >= MIN_ELEMENT_ATOMS))
    x = torch.from_numpy(x)
    mean, std = x.mean(0), x.std(0)
    std = torch.where(std > 1e-3, std, torch.ones_like(std))  # a feature constant in training: centred only
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = ChargeNet(len(FEATURES), len(elements) + 1, hidden=hidden)
        low, high = x.min(0).values, x.max(0).values
        model = FittedChargeModel(net, elements, low, high, mean, std, {})
        inputs, slots, y = (x - mean) / std, model.slots(z), torch.from_numpy(y.astype(np.float32))
        energy_terms = [(slice(bounds[k], bounds[k + 1]), torch.as_tensor(design, dtype=torch.float32) / ENERGY_TEMPERATURE)
                        for k, design in enumerate(fitted_designs) if design is not None and len(design)]
        optimizer = torch.optim.Adam(net.parameters())
        steps = epochs * -(-len(y) // batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
        for _ in range(epochs):
            order = torch.randperm(len(y))
            for start in range(0, len(y), batch_size):
                batch = order[start:start + batch_size]
                shown = torch.where(torch.rand(len(batch)) < OTHER_RATE, len(elements), slots[batch])
                loss = nn.functional.l1_loss(net(inputs[batch], shown), y[batch])
                if energy_weight and energy_terms:
                    loss = loss + energy_weight * _energy_loss(net, inputs, slots, y, energy_terms)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
    info = {"structures": len(fitted_ids), "atoms": len(y), "epochs": epochs, "seed": seed, "energy_weight": energy_weight,
            "elements": {int(e): int(counts[e]) for e in np.flatnonzero(counts)}}
    return FittedChargeModel(net.eval(), elements, low, high, mean, std, info), rejects


def _energy_loss(net: ChargeNet, inputs: torch.Tensor, slots: torch.Tensor, targets: torch.Tensor, terms: list) -> torch.Tensor:
    """Mean absolute CO2 Coulomb energy error (kT) of the charges ``net`` gives ``ENERGY_BATCH`` random structures
    (``terms``: their atoms' rows, a slice, and design matrices): the charges' error is the correction's, EQeq cancels."""
    picked = torch.randint(len(terms), (min(ENERGY_BATCH, len(terms)),)).tolist()
    errors = [design @ (net(inputs[rows], slots[rows]) - targets[rows]) for rows, design in (terms[k] for k in picked)]
    return torch.cat(errors).abs().mean()


def coulomb_designs(crystals: Sequence[Crystal], sites: int = ENERGY_SITES) -> list:
    """Per structure, the ``[sites, atoms]`` matrix from charges to the CO2 Coulomb energy (K) at the ``sites`` where
    CO2 binds most with the structure's reference charges (``HostGuestEnergies.favourable_coulomb_design``); None
    where the energies cannot be computed (e.g. an element without force-field parameters)."""
    from molgnn.chem.host_guest import HostGuestEnergies

    energies = HostGuestEnergies(temperature=ENERGY_TEMPERATURE)
    designs = []
    for crystal in crystals:
        try:
            designs.append(energies.favourable_coulomb_design(crystal, sites))
        except InvalidInputError:
            designs.append(None)
    return designs


def out_of_fold_charges(crystals: Sequence[Crystal], folds: int = 5, seed: int = 0,
                        energy_weight: float = 0.0) -> list:
    """Each structure's charges predicted by a model fit on the other folds' structures (``KFold`` over structures,
    shuffled with ``seed``): what the recipe gives structures it never saw. An entry is the charges, or the
    ``InvalidInputError`` that the structure raised (EQeq failed)."""
    from sklearn.model_selection import KFold

    designs = coulomb_designs(crystals) if energy_weight else [None] * len(crystals)
    result = [None] * len(crystals)
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(np.arange(len(crystals))):
        model, _ = fit_charge_model([crystals[i] for i in train], seed=seed, energy_weight=energy_weight,
                                    designs=[designs[i] for i in train])
        for i in test:
            try:
                result[i] = model.charges(crystals[i])
            except InvalidInputError as error:
                result[i] = error.detached()
    return result


def agreement_with_reference(crystals: Sequence[Crystal], predicted: Sequence) -> dict:
    """Per-atom Pearson r and MAE (e) against the reference charges the ``crystals`` carry, of the ``predicted``
    charges (entries of ``out_of_fold_charges``; errors are left out) and of EQeq's for the same structures."""
    kept = [i for i, charges in enumerate(predicted) if isinstance(charges, np.ndarray)]
    reference = np.concatenate([crystals[i].charges for i in kept])
    compared = {"learned": np.concatenate([predicted[i] for i in kept]),
                "eqeq": np.concatenate([EQeq()(crystals[i]) for i in kept])}
    return {name: {"pearson_r": round(float(np.corrcoef(q, reference)[0, 1]), 4),
                   "mae": round(float(np.abs(q - reference).mean()), 4)} for name, q in compared.items()}
