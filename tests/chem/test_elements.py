import json

import numpy as np
import pytest

from molgnn.chem.elements import atomic_number, cgcnn_property_table, read_atom_init, symbol
from molgnn.chem.errors import InvalidInputError, UnknownElementError


def test_symbols_round_trip():
    assert [symbol(atomic_number(s, "t")) for s in ("H", "zn", "CL", "Og")] == ["H", "Zn", "Cl", "Og"]
    assert atomic_number("D", "t") == 1 and symbol(0) == "*"
    with pytest.raises(UnknownElementError, match="'Xq'"):
        atomic_number("Xq", "t")


def test_property_table_is_one_hot_per_block():
    table = cgcnn_property_table()
    assert table.features.shape == (101, len(table.names)) and len(set(table.names)) == len(table.names)
    blocks = {name.split("=")[0] for name in table.names}
    assert blocks == {"group", "period", "block", "valence_electrons", "electronegativity", "covalent_radius",
                      "first_ionization_energy", "electron_affinity", "molar_volume"}
    assert np.all(table.features[1:].sum(axis=1) == len(blocks))  # exactly one slot per block
    carbon = dict(zip(table.names, table.features[6]))
    assert carbon["group=14"] == 1 and carbon["period=2"] == 1 and carbon["block=p"] == 1
    assert table.features[2][table.names.index("electronegativity=unknown")] == 1  # He has none
    with pytest.raises(UnknownElementError, match="Fm|Md"):
        table.lookup(np.array([6, 101]), "x")


def test_read_atom_init(data_dir, tmp_path):
    table = read_atom_init(data_dir / "cgcnn-sample" / "atom_init.json")
    raw = json.loads((data_dir / "cgcnn-sample" / "atom_init.json").read_text())
    assert table.features.shape[1] == 92 and table.known[1:101].all() and not table.known[0]
    np.testing.assert_array_equal(table.features[8], np.array(raw["8"], dtype=np.float32))
    bad = tmp_path / "atom_init.json"
    bad.write_text('{"1": [0, 1], "6": [1]}')
    with pytest.raises(InvalidInputError, match="equal lengths"):
        read_atom_init(bad)
