import pytest

from molgnn.chem.errors import InvalidSmilesError
from molgnn.chem.scaffold import murcko_scaffold


@pytest.mark.parametrize(
    "smiles, scaffold",
    [("Cc1ccccc1", "c1ccccc1"),
     ("Cc1cc(Oc2nccc(CCC)c2)ccc1", "c1ccc(Oc2ccccn2)cc1"),  # the linker between rings stays
     ("C[C@H](N)c1ccccc1C1CC1", "c1ccc(C2CC2)cc1"),
     ("CCO", ""),  # acyclic: no scaffold
     ("[Na+].[Cl-]", "")],
)
def test_side_chains_are_removed(smiles, scaffold):
    assert murcko_scaffold(smiles) == scaffold


def test_enantiomers_share_a_scaffold():
    assert murcko_scaffold("C[C@H]1CC[C@@H](c2ccccc2)O1") == murcko_scaffold("C[C@@H]1CC[C@H](c2ccccc2)O1") == "c1ccc(C2CCCO2)cc1"


def test_bad_smiles_raise_typed_error_naming_input():
    with pytest.raises(InvalidSmilesError, match="^record-3: ") as caught:
        murcko_scaffold("C1CC", input_id="record-3")
    assert caught.value.input_id == "record-3"
    with pytest.raises(InvalidSmilesError, match="^C1CC: "):
        murcko_scaffold("C1CC")
