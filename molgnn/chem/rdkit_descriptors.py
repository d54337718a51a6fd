"""RDKit's 2D molecular descriptors (``rdkit.Chem.Descriptors``) as one float32 vector per molecule.

The set is RDKit's own list (``Descriptors._descList``: about 210 descriptors in current RDKit:
counts, surface-area contributions, topological indices, fragment counts, QED, ...), the
descriptors of chemprop's ``rdkit_2d`` / ``v1_rdkit_2d_normalized`` features, less ``Ipc`` and
``AvgIpc`` (``LEFT_OUT``): the information content of the characteristic polynomial costs
seconds for a 500-atom molecule (sider has several; everything else together takes about 5 ms)
and overflows double precision for larger ones. They are stored raw; models normalize them with
statistics of their training split (``molgnn.nn.DescriptorScaler``).

Missing values. A descriptor RDKit cannot compute for a molecule (an exception inside RDKit, a
NaN, or an infinity such as a division by zero in a topological index) is stored as NaN: NaN in
``data.descriptors`` is the flag, and the scaler puts the training split's centre in its place.
A finite value beyond float32's range (``Ipc`` of large molecules) is clipped to the largest
float32 of its sign, which keeps its rank among the training values. No molecule is rejected
for its descriptors.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rdkit import Chem

FLOAT32_MAX = float(np.finfo(np.float32).max)
LEFT_OUT = ("Ipc", "AvgIpc")


@lru_cache(maxsize=1)
def rdkit_2d_names() -> tuple[str, ...]:
    """The names of RDKit's 2D descriptors, in the order of the vectors."""
    from rdkit.Chem import Descriptors  # 50 ms of imports, paid by the featurizers that use it

    return tuple(name for name, _ in Descriptors._descList if name not in LEFT_OUT)


def rdkit_2d_descriptors(mols: list[Chem.Mol]) -> np.ndarray:
    """``[len(mols), len(rdkit_2d_names())]`` float32: each molecule's descriptors, NaN where RDKit fails."""
    from rdkit.Chem import Descriptors

    names = rdkit_2d_names()
    functions = [function for name, function in Descriptors._descList if name not in LEFT_OUT]
    values = np.array([[_value(function, mol) for function in functions] for mol in mols],
                      dtype=np.float64).reshape(len(mols), len(names))
    values[~np.isfinite(values)] = np.nan
    return np.clip(values, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)


def _value(function, mol: Chem.Mol) -> float:
    """One descriptor of one molecule; NaN where RDKit raises (as ``Descriptors.CalcMolDescriptors`` does)."""
    try:
        return function(mol)
    except Exception:  # noqa: BLE001 - RDKit's descriptors raise many types (ValueError, ZeroDivisionError, RuntimeError)
        return np.nan
