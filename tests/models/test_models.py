import pytest
import torch
from torch_geometric.data import Batch

from molgnn.errors import ConfigError
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.models import MODELS, build_model, model_spec
from molgnn.models.crystal import CrystalGNN
from molgnn.models.registry import UnknownModelError
from molgnn.nn import DescriptorScaler

CRYSTAL_MODELS = [name for name, spec in MODELS.items() if spec.kind == "crystals"]
MOLECULE_MODELS = [name for name, spec in MODELS.items() if spec.kind == "molecules"]


@pytest.fixture(scope="module")
def crystal_batch(crafted):
    featurizer = CrystalFeaturizer(descriptors=("pores", "energies"))
    return Batch.from_data_list([featurizer(crafted / f"{n}.cif") for n in ("ACOLIP", "ABUWOJ", "AFITIT")]), featurizer


@pytest.fixture(scope="module")
def molecule_batch():
    featurizer = MoleculeFeaturizer(fingerprint_bits=256, descriptors="rdkit2d")
    return Batch.from_data_list([featurizer(s) for s in ("CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "[Na+]")]), featurizer


def _kwargs(name, featurizer, out_dim=3):
    return model_spec(name).data_arguments(featurizer, out_dim)


@pytest.mark.parametrize("name", CRYSTAL_MODELS)
def test_crystal_models_output_one_row_per_graph_invariant_to_atom_order(name, crystal_batch):
    batch, featurizer = crystal_batch
    torch.manual_seed(0)
    sizes = {"hidden": 16} if name == "descriptor_mlp" else {"hidden": 16, "layers": 2}
    model = build_model(name, **_kwargs(name, featurizer), **sizes).eval()
    out = model(batch)
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    first = batch.get_example(0)
    order = torch.randperm(first.num_nodes, generator=torch.Generator().manual_seed(2))
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(first.num_nodes)
    permuted = first.clone()
    for key in ("x", "z", "pos", "charge"):
        permuted[key] = first[key][order]
    permuted.edge_index = inverse[first.edge_index]
    assert torch.allclose(model(Batch.from_data_list([permuted])), out[:1], atol=1e-4)


@pytest.mark.parametrize("scaling", ["standard", "quantile"])
@pytest.mark.parametrize("name", ["cgcnn_descriptors", "edge_attention_charge_descriptors", "descriptor_mlp"])
def test_descriptor_models_read_the_descriptors_and_hybrids_the_atoms_too(name, scaling, crystal_batch):
    batch, featurizer = crystal_batch
    torch.manual_seed(0)
    model = build_model(name, **_kwargs(name, featurizer), descriptor_scaling=scaling).eval()
    scalers = [m for m in model.modules() if isinstance(m, DescriptorScaler)]
    assert [s.method for s in scalers] == [scaling]
    scalers[0].fit(batch.descriptors)
    out = model(batch)
    changed = batch.clone()
    changed.descriptors = batch.descriptors.flip(0)
    assert not torch.allclose(model(changed), out)
    other_atoms = batch.clone()
    other_atoms.x = torch.roll(batch.x, 1, dims=1)
    assert torch.allclose(model(other_atoms), out) == (name == "descriptor_mlp")


def test_hybrid_crystal_models_need_a_featurizer_with_descriptors(crafted):
    with pytest.raises(ConfigError, match="needs descriptors.*descriptors=\\('pores', 'energies'\\)"):
        model_spec("charge_descriptors").data_arguments(CrystalFeaturizer(), 2)


@pytest.mark.parametrize("name", MOLECULE_MODELS)
def test_molecule_models(name, molecule_batch):
    batch, featurizer = molecule_batch
    model = build_model(name, **_kwargs(name, featurizer, out_dim=5), hidden=32).eval()
    out = model(batch)
    assert out.shape == (4, 5) and torch.isfinite(out).all()


def test_hybrid_reads_descriptors_only_in_its_descriptor_variant(molecule_batch):
    batch, featurizer = molecule_batch
    plain = model_spec("hybrid").data_arguments(featurizer, 5)
    assert "descriptor_dim" not in plain and build_model("hybrid", **plain).descriptors is None
    with_descriptors = build_model("hybrid_descriptors", **_kwargs("hybrid_descriptors", featurizer, 5), hidden=16).eval()
    assert with_descriptors.scaler.dim == len(featurizer.descriptor_names) == batch.descriptors.shape[1]
    changed = batch.clone()
    changed.descriptors = batch.descriptors + 100.0  # the normal scores of values above every training quantile
    with_descriptors.scaler.fit(batch.descriptors)
    assert not torch.allclose(with_descriptors(changed), with_descriptors(batch))
    with pytest.raises(ConfigError, match="needs descriptors .*--descriptors rdkit2d"):
        model_spec("hybrid_descriptors").data_arguments(MoleculeFeaturizer(fingerprint_bits=256), 5)


def test_registry_errors():
    with pytest.raises(UnknownModelError, match="registered: cgcnn"):
        build_model("cgcn", node_dim=1, edge_dim=1, out_dim=1)
    with pytest.raises(ValueError, match="fixes"):
        build_model("charge", node_dim=1, edge_dim=1, out_dim=1, charge=False)
    with pytest.raises(ConfigError, match=r"'gine' has no argument\(s\) \['heads'\]; its arguments: hidden=128"):
        build_model("gine", node_dim=1, edge_dim=1, out_dim=1, heads=2)


def test_crystal_variants_are_every_combination_of_their_flags():
    crystal = {name: MODELS[name] for name in CRYSTAL_MODELS if name != "descriptor_mlp"}
    graph_only = {"cgcnn", "edge", "attention", "charge", "edge_attention", "edge_charge", "attention_charge",
                  "edge_attention_charge"}
    hybrids = {"cgcnn_descriptors"} | {f"{name}_descriptors" for name in graph_only - {"cgcnn"}}
    assert set(crystal) == graph_only | hybrids
    flags_on = {name: sorted(flag for flag, on in spec.fixed.items() if on) for name, spec in crystal.items()}
    assert flags_on["cgcnn"] == [] and flags_on["edge_attention_charge"] == ["attention", "charge", "edge_update"]
    assert flags_on["attention_charge"] == ["attention", "charge"] and flags_on["edge"] == ["edge_update"]
    assert flags_on["cgcnn_descriptors"] == ["descriptors"]
    assert flags_on["edge_charge_descriptors"] == ["charge", "descriptors", "edge_update"]
    assert all(set(spec.fixed) == {"edge_update", "attention", "charge", "descriptors"} for spec in crystal.values())
    assert all(spec.cls is CrystalGNN and spec.requires == ({"charges"} if "charge" in name else set())
               | ({"descriptors"} if "descriptors" in name else set()) for name, spec in crystal.items())
    assert MODELS["descriptor_mlp"].requires == {"descriptors"}
    assert MODELS["hybrid"].requires == {"fingerprint"} and MODELS["gine"].requires == frozenset()
    assert not {"charge", "attention"} & set(MODELS["edge_charge"].arguments()) and MODELS["edge_charge"].arguments()["hidden"] == 64


def test_data_arguments_come_from_the_featurizer_and_missing_parts_are_named():
    featurizer = MoleculeFeaturizer(fingerprint_bits=128)
    assert model_spec("hybrid").data_arguments(featurizer, 4) == {"node_dim": featurizer.num_atom_features,
                                                                  "edge_dim": featurizer.num_edge_features,
                                                                  "out_dim": 4, "fp_dim": 128}
    with pytest.raises(ConfigError, match="'hybrid' needs fingerprint .data.fp.: featurize with fingerprint_bits > 0"):
        model_spec("hybrid").data_arguments(MoleculeFeaturizer(), 4)
    with pytest.raises(ConfigError, match="'charge' needs charges .data.charge.: featurize with charges='cif', 'eqeq' or 'learned'"):
        model_spec("charge").data_arguments(CrystalFeaturizer(charges="none"), 1)
    with pytest.raises(ConfigError, match="'cgcnn' is for crystals, but the data holds molecules"):
        model_spec("cgcnn").data_arguments(featurizer, 1)
