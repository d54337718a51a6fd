import json

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from molgnn.chem.errors import (
    IsolatedAtomError,
    MissingChargesError,
    OverlappingAtomsError,
    TooManyAtomsError,
    UnknownElementError,
)
from molgnn.featurize.crystal import CrystalFeaturizer


def _simple_cubic(a=3.0):
    return Structure(Lattice.cubic(a), ["Po"], [[0, 0, 0]])


def test_simple_cubic_has_six_neighbours_at_the_lattice_constant():
    graph = CrystalFeaturizer(cutoff=3.5, charges="none")(_simple_cubic(3.0), "po")
    assert graph.edge_index.shape == (2, 6)
    assert torch.allclose(graph.edge_dist, torch.full((6,), 3.0))
    assert sorted(map(tuple, graph.pbc_offset.tolist())) == sorted(
        [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)])
    # every edge crosses the boundary: the source's image is pos + offset @ lattice
    src, dst = graph.edge_index
    image = graph.pos[src] + graph.pbc_offset.float() @ graph.lattice[0]
    assert torch.allclose((image - graph.pos[dst]).norm(dim=1), graph.edge_dist)


def test_max_neighbors_keeps_the_nearest():
    # 6 first neighbours at 3 Å, 12 second neighbours at 4.24 Å
    graph = CrystalFeaturizer(cutoff=4.5, max_neighbors=8, charges="none")(_simple_cubic(3.0), "po")
    assert graph.edge_index.shape[1] == 8
    distances = graph.edge_dist.tolist()
    assert distances[:6] == pytest.approx([3.0] * 6) and distances[6:] == pytest.approx([3.0 * 2**0.5] * 2)


def test_neighbours_match_pymatgen_on_a_mof(crafted):
    path = crafted / "ABUWOJ.cif"
    graph = CrystalFeaturizer(cutoff=6.0, max_neighbors=10_000)(path)
    structure = Structure.from_file(path)
    centers, _, _, distances = structure.get_neighbor_list(6.0)
    ours = sorted(zip(graph.edge_index[1].tolist(), np.round(graph.edge_dist.numpy(), 3).tolist()))
    theirs = sorted(zip(centers.tolist(), np.round(distances, 3).tolist()))
    assert len(ours) == len(theirs)
    assert np.allclose([d for _, d in ours], [d for _, d in theirs], atol=2e-3)


def test_cif_and_structure_give_the_same_graph(crafted):
    path = crafted / "ABUWOJ.cif"
    featurizer = CrystalFeaturizer(charges="none")
    from_cif = featurizer(path)
    from_structure = featurizer(Structure.from_file(path), "ABUWOJ")
    assert torch.allclose(torch.sort(from_cif.edge_dist).values, torch.sort(from_structure.edge_dist).values, atol=1e-4)
    assert torch.equal(from_cif.z, from_structure.z)


def test_charges_and_features(crafted, data_dir):
    featurizer = CrystalFeaturizer()
    graph = featurizer(crafted / "ABUWOJ.cif")
    assert graph.charge.shape == (224,) and abs(graph.charge.sum().item()) < 1e-3
    assert graph.x.shape == (224, featurizer.num_atom_features) == (224, len(featurizer.atom_feature_names))
    assert graph.edge_attr.shape == (graph.edge_index.shape[1], featurizer.num_edge_features)
    assert featurizer.num_edge_features == 41  # Gaussian centres 0, 0.2, ..., 8 Å
    assert torch.bincount(graph.edge_index[1]).eq(12).all()
    with pytest.raises(MissingChargesError, match="charges='cif'"):
        featurizer(data_dir / "hmof100" / "cif" / "hMOF-1000268.cif")


def test_atom_init_features(data_dir, tmp_path):
    atom_init = data_dir / "cgcnn-sample" / "atom_init.json"
    featurizer = CrystalFeaturizer(charges="none", element_features=str(atom_init))
    graph = featurizer(data_dir / "cgcnn-sample" / "1000041.cif")  # NaCl
    table = json.loads(atom_init.read_text())
    assert graph.x.shape[1] == 92
    assert torch.equal(graph.x[graph.z == 11][0], torch.tensor(table["11"], dtype=torch.float32))
    partial = tmp_path / "atom_init.json"
    partial.write_text(json.dumps({"11": table["11"]}))
    with pytest.raises(UnknownElementError, match="Cl"):
        CrystalFeaturizer(charges="none", element_features=str(partial))(data_dir / "cgcnn-sample" / "1000041.cif")
    assert len(featurizer.config()["element_features_sha256"]) == 64


def test_isolated_atom_is_a_choice():
    structure = Structure(Lattice.cubic(20.0), ["C", "C", "Ne"], [[0, 0, 0], [0.07, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(IsolatedAtomError, match="1 atom"):
        CrystalFeaturizer(cutoff=3.0, charges="none")(structure, "lonely")
    graph = CrystalFeaturizer(cutoff=3.0, charges="none", isolated="keep")(structure, "lonely")
    assert graph.num_nodes == 3 and graph.edge_index.shape[1] == 2 and 2 not in graph.edge_index


def test_overlapping_atoms_are_rejected():
    structure = Structure(Lattice.cubic(5.0), ["C", "C"], [[0, 0, 0], [0.02, 0, 0]])
    with pytest.raises(OverlappingAtomsError, match="0.100 Å apart"):
        CrystalFeaturizer(charges="none")(structure, "clash")


def test_too_many_atoms_is_rejected(crafted):
    with pytest.raises(TooManyAtomsError, match="max_atoms=100"):
        CrystalFeaturizer(max_atoms=100)(crafted / "ABUWOJ.cif")


def test_expand_works_on_a_batch(crafted):
    from torch_geometric.data import Batch

    featurizer = CrystalFeaturizer()
    compact = [featurizer.graph(crafted / name) for name in ("ABUWOJ.cif", "ACOLIP.cif")]
    batch = featurizer.expand(Batch.from_data_list(compact))
    assert batch.x.shape[0] == sum(g.num_nodes for g in compact)
    assert torch.allclose(batch.edge_attr[: compact[0].edge_index.shape[1]], featurizer(crafted / "ABUWOJ.cif").edge_attr)


def test_invalid_settings():
    with pytest.raises(ValueError, match="charges"):
        CrystalFeaturizer(charges="ddec")
    with pytest.raises(ValueError, match="isolated"):
        CrystalFeaturizer(isolated="drop")
