"""Property-based: random and mutated SMILES and CIFs either parse (and featurize) or raise a molgnn input error."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from molgnn.chem.crystal import CifText, parse_cif_text
from molgnn.chem.errors import InvalidInputError
from molgnn.chem.molecule import parse_smiles
from molgnn.chem.neighbors import MAX_SEARCH_SIZE, search_size
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer
from tests.conftest import REPO
from tests.mutations import ALPHABET, mutated

DATA = REPO.parent / "shared" / "data"
SMILES = pd.read_csv(DATA / "molnet" / "sider.csv")["smiles"].head(200).tolist()
CIFS = [path.read_text() for path in sorted((DATA / "crafted726" / "cif" / "DDEC").glob("*.cif"),
                                             key=lambda p: p.stat().st_size)[:4]]
CIFS += [(DATA / "cgcnn-sample" / "1000041.cif").read_text()]  # symmetry operations, Z and a formula unit
MOLECULES = MoleculeFeaturizer(gasteiger=True, fingerprint_bits=64)
CRYSTALS = CrystalFeaturizer(charges="none", cutoff=6.0)


@given(st.one_of(mutated(SMILES), st.text(ALPHABET, max_size=60)))
def test_any_smiles_parses_featurizes_or_is_an_input_error(text):
    try:
        mol = parse_smiles(text, "fuzz")
    except InvalidInputError as error:
        assert error.input_id == "fuzz" and error.reason
        return
    assert mol.GetNumAtoms() > 0 and not any(c.isspace() for c in text.strip())
    try:
        graph = MOLECULES(text, "fuzz")
    except InvalidInputError as error:
        assert error.input_id == "fuzz"
        return
    assert graph.x.shape[0] == mol.GetNumAtoms() and np.isfinite(graph.charge.numpy()).all()


@pytest.mark.slow
@given(mutated(CIFS, max_edits=3))
def test_any_cif_parses_featurizes_or_is_an_input_error(text):
    try:
        crystal = parse_cif_text(CifText(text), "fuzz")
    except InvalidInputError as error:
        assert error.input_id == "fuzz" and error.reason
        return
    assert len(crystal) > 0 and np.isfinite(crystal.frac).all() and ((crystal.frac >= 0) & (crystal.frac < 1)).all()
    assert max(search_size(crystal.lattice, len(crystal), CRYSTALS.cutoff)) <= MAX_SEARCH_SIZE or _refused(crystal)
    try:
        graph = CRYSTALS.graph(crystal, "fuzz")
    except InvalidInputError as error:
        assert error.input_id == "fuzz"
        return
    edges = graph.edge_index.shape[1]
    assert 0 < edges <= CRYSTALS.max_neighbors * len(crystal) and np.isfinite(graph.edge_dist.numpy()).all()


def _refused(crystal) -> bool:
    """A structure beyond the search bound must be refused before the search."""
    with pytest.raises(InvalidInputError, match="neighbour search"):
        CRYSTALS.graph(crystal, "fuzz")
    return True
