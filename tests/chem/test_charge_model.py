"""Learned charges: EQeq corrected towards DDEC by a model of each atom's bonded environment."""

import dataclasses

import numpy as np
import pytest

from molgnn.chem.charge_equilibration import EQeq
from molgnn.chem.charge_model import (
    FEATURES,
    SHIPPED,
    FittedChargeModel,
    LearnedCharges,
    coulomb_designs,
    environment_features,
    fit_charge_model,
    out_of_fold_charges,
)
from molgnn.chem.crystal import Crystal, read_cif
from molgnn.chem.errors import ChargeEquilibrationError
from molgnn.errors import ConfigError


@pytest.fixture(scope="module")
def ddec_crystals(request):
    data_dir = request.getfixturevalue("data_dir")
    paths = sorted((data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif"))
    small = [c for c in map(read_cif, paths[::6]) if len(c) <= 200]
    return small[:50]


@pytest.fixture(scope="module")
def fitted(ddec_crystals):
    model, rejects = fit_charge_model(ddec_crystals[:40], epochs=40)
    assert rejects == []
    return model


def _mae(a, b):
    return float(np.abs(a - b).mean())


def test_a_fitted_model_brings_unseen_structures_closer_to_ddec_than_eqeq(ddec_crystals, fitted):
    unseen = ddec_crystals[40:]
    assert len(unseen) >= 8
    learned = np.concatenate([fitted.charges(c) for c in unseen])
    eqeq = np.concatenate([EQeq()(c) for c in unseen])
    ddec = np.concatenate([c.charges for c in unseen])
    assert _mae(learned, ddec) < 0.5 * _mae(eqeq, ddec)
    assert fitted.info["structures"] == 40 and fitted.info["atoms"] == sum(len(c) for c in ddec_crystals[:40])


def test_charges_are_neutral_or_sum_to_the_total_charge(ddec_crystals, fitted):
    crystal = ddec_crystals[41]
    assert abs(fitted.charges(crystal).sum()) < 1e-9
    assert fitted.charges(crystal, total_charge=2.0).sum() == pytest.approx(2.0, abs=1e-9)


def test_a_supercell_gets_the_same_charges_per_atom(ddec_crystals, fitted):
    crystal = ddec_crystals[42]
    frac = np.vstack([crystal.frac * [0.5, 1, 1], (crystal.frac + [1, 0, 0]) * [0.5, 1, 1]])
    lattice = crystal.lattice * np.array([[2.0], [1.0], [1.0]])
    supercell = Crystal("supercell", lattice, frac, np.tile(crystal.numbers, 2))
    np.testing.assert_allclose(fitted.charges(supercell), np.tile(fitted.charges(crystal), 2), atol=1e-4)


def test_features_count_bonded_neighbours(ddec_crystals):
    crystal = ddec_crystals[0]
    features = environment_features(crystal, EQeq()(crystal))
    assert features.shape == (len(crystal), len(FEATURES)) and np.isfinite(features).all()
    degree = features[:, FEATURES.index("degree")]
    hydrogens = crystal.numbers == 1
    assert (degree[hydrogens] >= 1).all() and (degree[hydrogens] == 1).mean() > 0.8  # (here some N-H sit 1.49 Å from a Zn)
    carbons = crystal.numbers == 6
    assert set(np.unique(degree[carbons])) <= {2, 3, 4}


def test_an_element_the_model_never_saw_takes_the_other_slot(ddec_crystals, fitted):
    crystal = ddec_crystals[43]
    assert 13 not in fitted.elements  # aluminium is rare in crafted726
    metal = int(np.flatnonzero(~np.isin(crystal.numbers, [1, 6, 7, 8]))[0])
    numbers = crystal.numbers.copy()
    numbers[metal] = 13
    assert fitted.slots(numbers)[metal] == len(fitted.elements)
    charges = fitted.charges(dataclasses.replace(crystal, numbers=numbers))
    assert np.isfinite(charges).all() and abs(charges.sum()) < 1e-9


def test_save_and_load_give_the_same_charges(tmp_path, ddec_crystals, fitted):
    path = tmp_path / "model.pt"
    fitted.save(path)
    crystal = ddec_crystals[44]
    np.testing.assert_array_equal(LearnedCharges(str(path))(crystal), fitted.charges(crystal))
    assert FittedChargeModel.load(path).info == fitted.info
    import torch

    torch.save({"format": 0}, tmp_path / "old.pt")
    with pytest.raises(ConfigError, match="not a charge model"):
        FittedChargeModel.load(tmp_path / "old.pt")
    with pytest.raises(ConfigError, match="no such file"):
        LearnedCharges(str(tmp_path / "missing.pt"))(crystal)


def test_the_shipped_model_is_close_to_ddec(ddec_crystals):
    model = LearnedCharges(SHIPPED).fitted
    assert model.info["cross_validation"]["learned"]["mae"] < 0.5 * model.info["cross_validation"]["eqeq"]["mae"]
    crystal = ddec_crystals[45]
    assert _mae(LearnedCharges()(crystal), crystal.charges) < 0.5 * _mae(EQeq()(crystal), crystal.charges)


def test_fitting_needs_reference_charges_and_reports_structures_eqeq_refuses(ddec_crystals):
    good = ddec_crystals[:6]
    with pytest.raises(ConfigError, match="without reference charges"):
        fit_charge_model([*good, dataclasses.replace(good[0], charges=None, id="bare")])
    frac = good[1].frac.copy()
    frac[1] = frac[0] + 1e-3  # two atoms 0.01-0.03 Å apart: EQeq's system is singular
    twin = dataclasses.replace(good[1], frac=frac, id="twin")
    model, rejects = fit_charge_model([*good, twin], epochs=2)
    assert [e.input_id for e in rejects] == ["twin"] and isinstance(rejects[0], ChargeEquilibrationError)
    assert model.info["structures"] == 6


def test_out_of_fold_charges_predict_every_structure_from_a_model_that_never_saw_it(ddec_crystals):
    crystals = ddec_crystals[:10]
    frac = crystals[3].frac.copy()
    frac[1] = frac[0] + 1e-3
    crystals = [*crystals[:3], dataclasses.replace(crystals[3], frac=frac, id="twin"), *crystals[4:]]
    predicted = out_of_fold_charges(crystals, folds=2)
    assert isinstance(predicted[3], ChargeEquilibrationError)
    assert all(len(q) == len(c) for i, (q, c) in enumerate(zip(predicted, crystals)) if i != 3)


def test_an_environment_beyond_the_training_range_is_treated_as_the_nearest_one_seen(ddec_crystals, fitted):
    crystal = ddec_crystals[46]
    features = environment_features(crystal, EQeq()(crystal))
    far = features.copy()
    far[:, FEATURES.index("second_halogen")] = 1000.0  # no atom has a thousand halogens two bonds away
    at_edge = features.copy()
    at_edge[:, FEATURES.index("second_halogen")] = float(fitted.high[FEATURES.index("second_halogen")])
    np.testing.assert_array_equal(fitted.correction(crystal.numbers, far), fitted.correction(crystal.numbers, at_edge))


def test_the_energy_term_brings_the_co2_coulomb_energies_closer_to_those_of_the_reference(ddec_crystals):
    crystals = ddec_crystals[:30]
    designs = coulomb_designs(crystals, sites=16)
    assert all(d.shape == (16, len(c)) for d, c in zip(designs, crystals))

    def energy_error(model):  # mean absolute error (K) at the sites where CO2 binds most with DDEC charges
        return np.mean([np.abs(d @ (model.charges(c) - c.charges)).mean() for d, c in zip(designs, crystals)])

    plain, _ = fit_charge_model(crystals, epochs=15, energy_weight=0.0)
    weighted, _ = fit_charge_model(crystals, epochs=15, energy_weight=0.3, designs=designs)
    assert weighted.info["energy_weight"] == 0.3
    assert energy_error(weighted) < 0.8 * energy_error(plain)
