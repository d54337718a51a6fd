import numpy as np
import pytest

from molgnn.chem.crystal import read_cif
from molgnn.chem.host_guest import HostGuestEnergies
from molgnn.chem.pores import PoreGeometry
from molgnn.errors import ConfigError
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.registry import featurizer_from_config


@pytest.fixture(scope="module")
def featurizer():
    return CrystalFeaturizer(descriptors=("pores", "energies"))


def test_descriptors_are_the_calculators_values_with_names_and_units(featurizer, crafted):
    graph = featurizer(crafted / "ABUWOJ.cif")
    crystal = read_cif(crafted / "ABUWOJ.cif")
    expected = np.concatenate([PoreGeometry()(crystal), HostGuestEnergies()(crystal)])
    assert graph.descriptors.shape == (1, len(featurizer.descriptor_names)) == (1, len(featurizer.descriptor_units))
    np.testing.assert_allclose(graph.descriptors[0].numpy(), expected.astype(np.float32))
    assert featurizer.descriptor_names[:3] == ["density", "lcd", "pld"] and featurizer.descriptor_units[1] == "Å"
    assert featurizer.provides == {"charges", "descriptors"} and featurizer.graph_dims()["descriptor_dim"] == 40


def test_energies_use_the_featurizers_charges(crafted):
    names = CrystalFeaturizer(descriptors=("energies",)).descriptor_names
    coulomb = names.index("boltzmann_coulomb")
    with_charges = CrystalFeaturizer(descriptors=("energies",))(crafted / "ABUWOJ.cif").descriptors[0]
    without = CrystalFeaturizer(charges="none", descriptors=("energies",))(crafted / "ABUWOJ.cif").descriptors[0]
    assert without[coulomb] == 0 and with_charges[coulomb] < -5


def test_descriptor_settings_travel_with_the_config(featurizer):
    config = featurizer.config()
    assert config["descriptor_settings"]["energies"]["insertions"] == HostGuestEnergies().insertions
    assert featurizer_from_config(config) == featurizer
    assert "descriptor_settings" not in CrystalFeaturizer().config()

    more = CrystalFeaturizer(descriptors=("pores", "energies"), descriptor_settings={"energies": {"insertions": 30000}})
    assert more.descriptor_calculators[1] == HostGuestEnergies(insertions=30000)
    assert more.config()["descriptor_settings"]["energies"]["insertions"] == 30000 and more.config() != config  # a new cache
    assert featurizer_from_config(more.config()) == more
    assert CrystalFeaturizer(descriptors=("pores", "energies"), descriptor_settings={"energies": {"seed": 0}}) == featurizer

    assert more.limited_to({"charges"}) == CrystalFeaturizer()  # a model without descriptors: their settings go too

    older = featurizer.config()  # a run folder of a molgnn whose calculator had one argument less
    del older["descriptor_settings"]["energies"]["orientations"]
    assert featurizer_from_config(older).descriptor_calculators == featurizer.descriptor_calculators
    oldest = featurizer.config()  # one from before the settings were recorded, when the default was 3000 insertions
    del oldest["descriptor_settings"]
    assert featurizer_from_config(oldest).descriptor_calculators[1] == HostGuestEnergies(insertions=3000)


def test_bad_descriptor_settings_are_named():
    with pytest.raises(ConfigError, match="descriptor_settings of 'energies': unknown \\['inserts'\\]"):
        CrystalFeaturizer(descriptors=("energies",), descriptor_settings={"energies": {"inserts": 10}})
    with pytest.raises(ConfigError, match="descriptor_settings for \\['energy'\\]: not descriptor sets"):
        CrystalFeaturizer(descriptors=("energies",), descriptor_settings={"energy": {"insertions": 10}})
    with pytest.raises(ConfigError, match="orientations must be 1 to 6"):
        CrystalFeaturizer(descriptors=("energies",), descriptor_settings={"energies": {"orientations": 7}})


def test_unknown_or_repeated_descriptor_sets_are_refused():
    with pytest.raises(ConfigError, match="descriptors must be distinct names"):
        CrystalFeaturizer(descriptors=("pores", "volume"))
    with pytest.raises(ConfigError, match="descriptors must be distinct names"):
        CrystalFeaturizer(descriptors=("pores", "pores"))
