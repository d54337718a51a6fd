"""Charge schemes of the crystal featurizer: CIF charges, computed (EQeq or learned) charges, none."""

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from molgnn.chem.charge_equilibration import EQeq
from molgnn.chem.charge_model import SHIPPED, LearnedCharges, shipped_path
from molgnn.chem.crystal import Crystal, read_cif
from molgnn.chem.errors import ChargeEquilibrationError, InvalidInputError
from molgnn.data.build import cache_key, resolve_spec
from molgnn.errors import ConfigError
from molgnn.featurize.crystal import CHARGE_SCHEMES, CrystalFeaturizer
from molgnn.featurize.registry import featurizer_from_config


def test_eqeq_charges_of_a_ddec_cif_match_the_published_eqeq_charges(data_dir):
    graph = CrystalFeaturizer(charges="eqeq")(data_dir / "crafted726" / "cif" / "DDEC" / "FUDQIF.cif")
    published = read_cif(data_dir / "crafted726" / "cif" / "EQeq" / "FUDQIF.cif").charges
    charge = graph.charge.double().numpy()
    assert graph.charge.shape == (graph.num_nodes,) and abs(charge.sum()) < 1e-5
    assert np.abs(charge - published).mean() < 0.01 and np.abs(charge - published).max() < 0.05


def test_cif_without_charges_needs_computed_ones(data_dir):
    path = sorted((data_dir / "hmof100" / "cif").glob("*.cif"))[1]
    with pytest.raises(InvalidInputError, match="no partial charges"):
        CrystalFeaturizer(charges="cif")(path)
    graph = CrystalFeaturizer(charges="eqeq")(path)
    assert graph.charge.abs().max() > 0.1 and abs(graph.charge.double().sum().item()) < 1e-5
    assert "charge" not in CrystalFeaturizer(charges="none")(path)


def test_scheme_is_in_the_config_and_the_cache_key(data_dir):
    assert CHARGE_SCHEMES == ("cif", "eqeq", "learned", "none")
    featurizer = CrystalFeaturizer(charges="eqeq")
    assert featurizer.config()["charges"] == "eqeq"
    assert featurizer_from_config(featurizer.config()) == featurizer
    spec = resolve_spec("crafted726", data_dir)
    keys = {cache_key(spec, CrystalFeaturizer(charges=scheme)) for scheme in CHARGE_SCHEMES}
    assert len(keys) == 4
    with pytest.raises(ValueError, match="charges must be one of"):
        CrystalFeaturizer(charges="computed")


def test_a_structure_the_solver_cannot_handle_is_a_reject_with_its_reason(data_dir):
    good = read_cif(data_dir / "crafted726" / "cif" / "DDEC" / "FUDQIF.cif")
    frac = good.frac.copy()
    frac[1] = frac[0] + 1e-3  # two atoms 0.01-0.03 Å apart: singular
    twin = Crystal("twin", good.lattice, frac, good.numbers)
    featurizer = CrystalFeaturizer(charges="eqeq", min_distance=0.0)
    again = dataclasses.replace(good, id="FUDQIF-2")
    graphs, rejects = featurizer.featurize_many([good, twin, again], ["FUDQIF", "twin", "FUDQIF-2"])
    assert graphs.ids == ["FUDQIF", "FUDQIF-2"]
    assert len(rejects) == 1 and isinstance(rejects[0], ChargeEquilibrationError)
    assert rejects[0].input_id == "twin" and "singular" in rejects[0].reason


def test_learned_charges_come_from_the_charge_model_named_in_the_config(tmp_path, data_dir):
    path = data_dir / "crafted726" / "cif" / "DDEC" / "FUDQIF.cif"
    crystal = read_cif(path)
    graph = CrystalFeaturizer(charges="learned")(path)
    np.testing.assert_allclose(graph.charge.double().numpy(), LearnedCharges()(crystal), atol=1e-6)
    assert np.abs(graph.charge.double().numpy() - crystal.charges).mean() < 0.5 * np.abs(EQeq()(crystal) - crystal.charges).mean()

    featurizer = CrystalFeaturizer(charges="learned")
    config = featurizer.config()
    assert config["charge_model"] == SHIPPED and len(config["charge_model_sha256"]) == 64
    assert featurizer_from_config(config) == featurizer
    assert "charge_model" not in CrystalFeaturizer(charges="eqeq").config()
    assert CrystalFeaturizer(charges="eqeq", charge_model="mine.pt") == CrystalFeaturizer(charges="eqeq")

    own = tmp_path / "own.pt"
    shutil.copy(shipped_path(), own)
    mine = CrystalFeaturizer(charges="learned", charge_model=str(own))
    spec = resolve_spec("crafted726", data_dir)
    assert cache_key(spec, mine) != cache_key(spec, featurizer)  # the content hash keys the cache, not the name
    assert mine.limited_to(set()).charges == "none"  # a model that reads no charges
    saved = mine.config()
    torch.save({"format": 0}, own)
    with pytest.raises(ConfigError, match="differs from the one"):
        featurizer_from_config(saved)
