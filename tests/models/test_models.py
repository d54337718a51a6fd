import pytest
import torch
from torch_geometric.data import Batch

from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.models import MODELS, build_model
from molgnn.models.registry import UnknownModelError

CRYSTAL_MODELS = [name for name, entry in MODELS.items() if entry[2] == "crystals"]
MOLECULE_MODELS = [name for name, entry in MODELS.items() if entry[2] == "molecules"]


@pytest.fixture(scope="module")
def crystal_batch(crafted):
    featurizer = CrystalFeaturizer()
    return Batch.from_data_list([featurizer(crafted / f"{n}.cif") for n in ("ACOLIP", "ABUWOJ", "AFITIT")]), featurizer


@pytest.fixture(scope="module")
def molecule_batch():
    featurizer = MoleculeFeaturizer(fingerprint_bits=256)
    return Batch.from_data_list([featurizer(s) for s in ("CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "[Na+]")]), featurizer


def _kwargs(name, featurizer, out_dim=3):
    kwargs = dict(node_dim=featurizer.num_atom_features, edge_dim=featurizer.num_edge_features, out_dim=out_dim)
    if MODELS[name][3]:
        kwargs["fp_dim"] = featurizer.fingerprint_bits
    return kwargs


@pytest.mark.parametrize("name", CRYSTAL_MODELS)
def test_crystal_models_output_one_row_per_graph_invariant_to_atom_order(name, crystal_batch):
    batch, featurizer = crystal_batch
    torch.manual_seed(0)
    model = build_model(name, **_kwargs(name, featurizer), hidden=16, layers=2).eval()
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


@pytest.mark.parametrize("name", MOLECULE_MODELS)
def test_molecule_models(name, molecule_batch):
    batch, featurizer = molecule_batch
    model = build_model(name, **_kwargs(name, featurizer, out_dim=5), hidden=32).eval()
    out = model(batch)
    assert out.shape == (4, 5) and torch.isfinite(out).all()


def test_registry_errors():
    with pytest.raises(UnknownModelError, match="registered: cgcnn"):
        build_model("cgcn", node_dim=1, edge_dim=1, out_dim=1)
    with pytest.raises(ValueError, match="fixes"):
        build_model("charge", node_dim=1, edge_dim=1, out_dim=1, charge=False)
