"""Libraries stream every record, in a stable order, with ids and sources, from each supported format."""

import importlib.util

import pandas as pd
import pytest

from molgnn.screen.library import CRYSTALS, MOLECULES, Library, LibraryError, open_library


@pytest.fixture
def smiles_rows(sider) -> pd.DataFrame:
    rows = sider[["smiles"]].head(25).copy()
    rows.insert(0, "name", [f"mol{k}" for k in range(len(rows))])
    rows.loc[3, "smiles"] = ""  # an empty cell is a record too (rejected later), never skipped
    return rows


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".smi"])
def test_smiles_tables_stream_every_row(tmp_path, smiles_rows, suffix):
    path = tmp_path / f"library{suffix}"
    if suffix == ".parquet":
        smiles_rows.to_parquet(path, index=False)
    elif suffix == ".smi":
        path.write_text("".join(f"{s} {n}\n" for n, s in zip(smiles_rows["name"], smiles_rows["smiles"])))
    else:
        smiles_rows.rename(columns={"smiles": "SMILES"}).to_csv(path, index=False)
    library = open_library(path, smiles_column="smiles", id_column=None if suffix == ".smi" else "name")
    records = list(library.records())
    assert library.kind == MOLECULES and library.count() == len(smiles_rows) == len(records)
    assert [r[0] for r in records] == list(range(len(smiles_rows)))
    if suffix != ".smi":  # a .smi line with an empty SMILES has no id field
        assert [r[1] for r in records] == smiles_rows["name"].tolist()
        assert [r[3] for r in records] == smiles_rows["smiles"].tolist()


def test_csv_ids_default_to_row_numbers_and_columns_are_checked(tmp_path, smiles_rows):
    path = tmp_path / "library.csv"
    smiles_rows.to_csv(path, index=False)
    assert [r[1] for r in open_library(path).records()][:3] == ["0", "1", "2"]
    with pytest.raises(LibraryError, match="no SMILES column 'smi'"):
        list(open_library(path, smiles_column="smi").records())


def test_unknown_or_missing_libraries_are_clear_errors(tmp_path, crafted):
    with pytest.raises(LibraryError, match="does not exist"):
        open_library(tmp_path / "nothing.csv")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(LibraryError, match="a library is a folder or tar/zip archive of CIFs, one CIF"):
        open_library(tmp_path / "notes.txt")
    with pytest.raises(LibraryError, match="unknown CoRE MOF set"):
        open_library("core-mof:2020")


def test_core_mof_streams_its_cifs_or_says_how_to_install_it():
    if importlib.util.find_spec("CoRE_MOF") is None:  # the optional extra molgnn[coremof]
        with pytest.raises(LibraryError, match=r"pip install 'molgnn\[coremof\]'"):
            open_library("core-mof")
        return
    library = open_library("core-mof:2019-FSR")
    first = []
    for record in library.records():
        first.append(record)
        if len(first) == 3:
            break
    assert library.kind == CRYSTALS and [r[0] for r in first] == [0, 1, 2]
    assert all(r[2].startswith("core-mof:2019-FSR:") and "_cell_length_a" in r[3] for r in first)
    assert library.identity()["core_mof"] == ["2019-FSR"]


def test_one_cif_and_records_in_memory_are_libraries(crafted):
    one = open_library(crafted / "ABUWOJ.cif")
    assert one.kind == CRYSTALS and one.count() == 1
    assert [r[:3] for r in one.records()] == [(0, "ABUWOJ", str(crafted / "ABUWOJ.cif"))]
    memory = Library.in_memory(["CCO", "C1CC"], ["ethanol", "broken"], MOLECULES)
    assert list(memory.records()) == [(0, "ethanol", "CCO", "CCO"), (1, "broken", "C1CC", "C1CC")]
    assert memory.count() == 2 and memory.identity() != Library.in_memory(["CCO", "CCN"], None, MOLECULES).identity()
    with pytest.raises(LibraryError, match="1 ids given for 2 records"):
        Library.in_memory(["CCO", "C1CC"], ["a"], MOLECULES)
