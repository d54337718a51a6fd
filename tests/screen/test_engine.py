"""molgnn.screen.screen on real data: rows in = rows out, ensembles, archives, top-k, resume."""

import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molgnn.screen import ScreenError, predict, screen, top_candidates
from molgnn.screen.store import ScreenStoreError, prediction_columns
from molgnn.train.checkpoint import load_run
from tests.screen.conftest import BAD_SMILES, assert_same_tables, direct_predictions

LONELY_CIF = """data_lonely
_cell_length_a 40
_cell_length_b 40
_cell_length_c 40
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
C1 C 0 0 0
C2 C 0.5 0.5 0.5
"""


def bad_cifs(folder: Path, data_dir: Path) -> dict[str, str]:
    """Write bad CIFs into ``folder``; returns their ids and the status each must get."""
    good = (data_dir / "crafted726" / "cif" / "DDEC" / "ACOLIP.cif").read_text()
    (folder / "truncated.cif").write_text(good[:200])
    (folder / "empty.cif").write_text("")
    (folder / "lonely.cif").write_text(LONELY_CIF)
    (folder / "unknown-element.cif").write_text(LONELY_CIF.replace("C2 C 0.5 0.5 0.5", "Q2 Qq 0.5 0.5 0.5"))
    (folder / "half-occupied.cif").write_text(
        LONELY_CIF.replace("_atom_site_fract_z\n", "_atom_site_fract_z\n_atom_site_occupancy\n")
        .replace("C1 C 0 0 0", "C1 C 0 0 0 1.0").replace("C2 C 0.5 0.5 0.5", "C2 C 0.5 0.5 0.5 0.5"))
    shutil.copy(data_dir / "crafted726" / "cif" / "DDEC" / "ABUWOJ.cif", folder / "big.cif")  # 224 atoms
    return {"truncated": "invalid_structure", "empty": "invalid_structure", "lonely": "no_neighbours",
            "unknown-element": "unknown_element", "half-occupied": "partial_occupancy", "big": "too_many_atoms"}


@pytest.fixture
def smiles_library(tmp_path, sider) -> tuple[Path, pd.DataFrame]:
    """120 sider SMILES with the bad ones spread through, ids in a column."""
    rows = [(f"sider-{k}", s) for k, s in enumerate(sider["smiles"].iloc[300:420])]
    for k, (name, smiles) in enumerate(BAD_SMILES.items()):
        rows.insert(17 + 29 * k, (name, smiles))
    frame = pd.DataFrame(rows, columns=["name", "SMILES"])
    path = tmp_path / "library.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_rows_in_equal_rows_out_with_bad_smiles(tmp_path, molecule_runs, smiles_library):
    path, frame = smiles_library
    result = screen(molecule_runs[0], path, tmp_path / "out.parquet", smiles_column="smiles", id_column="name",
                    workers=0, chunk_size=32, progress=False)
    table = result.table()
    assert len(table) == len(frame) and table["index"].tolist() == list(range(len(frame)))
    assert table["id"].tolist() == frame["name"].tolist() and table["source"].tolist() == frame["SMILES"].fillna("").tolist()
    status = dict(zip(table["id"], table["status"]))
    assert {name: status[name] for name in BAD_SMILES} == dict.fromkeys(BAD_SMILES, "invalid_smiles")
    assert (table["status"] == "ok").sum() == len(frame) - len(BAD_SMILES)
    bad = table[table["status"] != "ok"]
    assert bad["reason"].str.len().gt(0).all() and bad.iloc[:, 5:].isna().all().all()  # predictions and domain flag
    assert table.loc[table["status"] == "ok", "domain"].notna().all()
    assert result.summary["status"] == {"ok": len(frame) - len(BAD_SMILES), "invalid_smiles": len(BAD_SMILES)}
    # the same predictions as the training engine's own path, and as predict() in memory
    expected = direct_predictions(molecule_runs[0], frame["SMILES"].fillna("").tolist())
    np.testing.assert_allclose(table[prediction_columns(table)].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    in_memory = predict(molecule_runs[0], frame["SMILES"].fillna("").tolist(), ids=frame["name"].tolist())
    assert_same_tables(in_memory, table)


def test_predict_with_workers_keeps_the_records_in_order(molecule_runs, smiles_library):
    path, frame = smiles_library
    smiles = frame["SMILES"].fillna("").tolist()
    # a slow first chunk (long chains) makes the workers finish the chunks out of order
    records = ["C" * 200 + "O"] * 40 + smiles
    alone = predict(molecule_runs[0], records, chunk_size=40)
    parallel = predict(molecule_runs[0], records, workers=2, chunk_size=8)
    assert parallel["index"].tolist() == list(range(len(records)))
    assert_same_tables(parallel, alone)


def test_ensemble_mean_and_std_by_hand(tmp_path, molecule_runs, smiles_library):
    path, frame = smiles_library
    result = screen(molecule_runs, path, tmp_path / "out.csv", id_column="name", workers=1, chunk_size=50,
                    progress=False)
    table = result.table()
    per_run = [direct_predictions(r, frame["SMILES"].fillna("").tolist()) for r in molecule_runs]
    targets = load_run(molecule_runs[0]).targets
    assert [c for c in table.columns[5:]] == targets + [f"{t} std" for t in targets] + ["domain"]
    stacked = np.stack(per_run)
    np.testing.assert_allclose(table[targets].to_numpy(), (stacked[0] + stacked[1]) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table[[f"{t} std" for t in targets]].to_numpy(), np.abs(stacked[0] - stacked[1]) / 2,
                               rtol=1e-4, atol=1e-6)
    assert result.summary["models"] == 2 and result.summary["featurizations"] == 1


def test_top_k_ordering_and_filters(tmp_path, molecule_runs, smiles_library):
    path, _ = smiles_library
    result = screen(molecule_runs, path, tmp_path / "out.parquet", workers=0, progress=False)
    table = result.table()
    target = "Hepatobiliary disorders"
    ok = table[table["status"] == "ok"]
    threshold = ok[f"{target} std"].median()
    top = result.top(10, sort=target, min_std=threshold)
    expected = ok[ok[f"{target} std"] >= threshold].sort_values([target, "index"], ascending=[False, True]).head(10)
    assert top["rank"].tolist() == list(range(1, 11))
    assert top["index"].tolist() == expected["index"].tolist()
    assert top[target].is_monotonic_decreasing and (top[f"{target} std"] >= threshold).all()
    lowest = top_candidates(result.path, 5, sort=target, ascending=True)
    assert lowest["index"].tolist() == ok.sort_values([target, "index"]).head(5)["index"].tolist()
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        result.top(3, sort="nope")


def test_folder_tar_zip_and_inference_placements_give_the_same_table(tmp_path, data_dir, crystal_run, crystal_files):
    folder = tmp_path / "cifs"
    (folder / "sub").mkdir(parents=True)
    for k, path in enumerate(crystal_files[:8]):
        shutil.copy(path, folder / ("sub" if k % 2 else "") / path.name)
    expected_status = bad_cifs(folder, data_dir)
    with tarfile.open(tmp_path / "cifs.tar.gz", "w:gz") as archive:
        for path in sorted(folder.rglob("*.cif")):
            archive.add(path, arcname=path.relative_to(folder).as_posix())
    with zipfile.ZipFile(tmp_path / "cifs.zip", "w") as archive:
        for path in sorted(folder.rglob("*.cif")):
            archive.write(path, arcname=path.relative_to(folder).as_posix())

    tables = {}
    for name in ("cifs", "cifs.tar.gz", "cifs.zip"):
        result = screen(crystal_run, tmp_path / name, tmp_path / f"{name}.parquet", workers=1, chunk_size=5,
                        max_atoms=200, progress=False)
        assert result.summary["inference"] == "workers"  # on CPU the workers run the models
        tables[name] = result.table().sort_values("id", ignore_index=True)
    # the models in this process, on batches the workers collate, or everything in this process: the same table
    for workers, inference in ((2, "main"), (0, "auto")):
        result = screen(crystal_run, folder, tmp_path / f"{inference}.parquet", workers=workers, chunk_size=5,
                        max_atoms=200, progress=False, inference=inference)
        assert result.summary["inference"] == "main"
        tables[inference] = result.table().sort_values("id", ignore_index=True)
    with pytest.raises(ScreenError, match="inference must be one of"):
        screen(crystal_run, folder, tmp_path / "gpu.parquet", progress=False, inference="gpu")
    folder_table = tables["cifs"]
    n_files = len(list(folder.rglob("*.cif")))
    assert len(folder_table) == n_files == 8 + len(expected_status)
    status = dict(zip(folder_table["id"], folder_table["status"]))
    assert {k: status[k] for k in expected_status} == expected_status
    assert sum(s == "ok" for s in status.values()) == 8
    assert "sub/" + crystal_files[1].stem in status
    assert list(folder_table.columns[-2:]) == ["LCD [Å]", "domain"]
    for name in ("cifs.tar.gz", "cifs.zip"):
        assert_same_tables(tables[name].drop(columns=["index", "source"]), folder_table.drop(columns=["index", "source"]))
    for name in ("main", "auto"):
        assert_same_tables(tables[name], folder_table)


def test_charges_missing_from_the_library_are_a_clear_error(tmp_path, data_dir, charge_run):
    library = tmp_path / "hmof"
    library.mkdir()
    for path in sorted((data_dir / "hmof100" / "cif").glob("*.cif"))[:2]:
        shutil.copy(path, library / path.name)
    with pytest.raises(ScreenError, match="--charges learned"):
        screen(charge_run, library, tmp_path / "out.parquet", workers=0, progress=False)
    table = screen(charge_run, library, tmp_path / "out.parquet", workers=0, charges="learned", progress=False).table()
    assert len(table) == 2 and table["status"].tolist() == ["ok", "ok"] and table["LCD [Å]"].notna().all()


def test_rerun_with_other_arguments_is_refused_and_a_finished_screen_is_kept(tmp_path, molecule_runs, smiles_library):
    path, _ = smiles_library
    out = tmp_path / "out.parquet"
    first = screen(molecule_runs[0], path, out, workers=0, chunk_size=40, progress=False)
    again = screen(molecule_runs[0], path, out, workers=0, chunk_size=40, progress=False)
    assert again.summary == first.summary
    with pytest.raises(ScreenStoreError, match="chunk_size"):
        screen(molecule_runs[0], path, out, workers=0, chunk_size=41, progress=False)
    restarted = screen(molecule_runs[0], path, out, workers=0, chunk_size=41, restart=True, progress=False)
    assert_same_tables(restarted.table(), first.table())
    assert json.loads((tmp_path / "out.parquet.parts" / "manifest.json").read_text())["chunk_size"] == 41


def test_library_kind_must_match_the_model(tmp_path, crystal_run, smiles_library):
    with pytest.raises(ScreenError, match="library of molecules"):
        screen(crystal_run, smiles_library[0], tmp_path / "out.parquet", workers=0, progress=False)
