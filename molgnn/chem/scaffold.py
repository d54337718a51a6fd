"""Bemis–Murcko scaffolds: the ring systems and the linkers between them, side chains removed.

Scaffold splits group molecules by this key so that a test set holds chemotypes the model has
not seen, which estimates performance on new chemistry better than a random split.
"""

from __future__ import annotations

from rdkit import rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from molgnn.chem.molecule import parse_smiles


def murcko_scaffold(smiles: str, input_id: object = None) -> str:
    """The Bemis–Murcko scaffold of one molecule as canonical SMILES, stereo ignored.

    Chirality is dropped so that enantiomers share a scaffold (and therefore a split set).
    Acyclic molecules have no scaffold and give ``""``.

    Raises:
        InvalidSmilesError: naming ``input_id`` (default: the SMILES) when the SMILES does not parse.
    """
    mol = parse_smiles(smiles, input_id)
    with rdBase.BlockLogs():  # RDKit warns about isolated explicit hydrogens it keeps; the scaffold is still right
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
