import numpy as np
import pytest

from molgnn.data.sources import LOADERS, DatasetSpecError, cgcnn_folder, crafted726, hmof100, smiles_csv


def test_missing_labels_are_nan_not_zero(data_dir):
    records = smiles_csv(data_dir / "molnet" / "tox21.csv")
    assert len(records) == 7831 and len(records.targets) == 12
    assert 0.16 < np.isnan(records.y).mean() < 0.18
    assert set(np.unique(records.y[~np.isnan(records.y)])) == {0.0, 1.0}


def test_non_numeric_label_is_a_reject_with_reason(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,a,b\nCCO,1,0\nCCN,yes,1\nCCC,,0.5\nCCCl,nan,2\n")
    records = smiles_csv(path)
    assert records.ids == ["0", "2", "3"]
    assert records.rejects == [("1", "label 'yes' in column 'a' is not a number")]
    assert np.isnan(records.y[1, 0]) and records.y[1, 1] == 0.5 and np.isnan(records.y[2, 0])


def test_unknown_column_is_named(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,a\nCCO,1\n")
    with pytest.raises(DatasetSpecError, match="no column 'b'"):
        smiles_csv(path, targets=["b"])


def test_crafted726_excludes_flagged_structures_and_reads_several_pressures(data_dir):
    records = crafted726(data_dir / "crafted726", pressures=[0.1, 1.0])
    assert len(records.excluded) == 36 and len(records) == 690
    assert records.targets == ["CO2_298K_0.1bar", "CO2_298K_1bar"] and LOADERS["crafted726"].charges_in_files
    assert 0.8 < np.median(records.y[:, 0]) < 1.2 and 2.9 < np.median(records.y[:, 1]) < 3.3
    assert not np.isnan(records.y).any()
    everything = crafted726(data_dir / "crafted726", exclude_inconsistent=False, charges="EQeq")
    assert len(everything) == 726 and all("EQeq" in str(p) for p in everything.inputs)


def test_crafted726_rejects_pressures_off_the_grid(data_dir):
    with pytest.raises(DatasetSpecError, match=r"\[2.5\] bar are not on the isotherm grid"):
        crafted726(data_dir / "crafted726", pressures=[2.5])
    with pytest.raises(DatasetSpecError, match="choose one of"):
        crafted726(data_dir / "crafted726", charges="PACMOF")


def test_hmof100_has_five_pressures(data_dir):
    records = hmof100(data_dir / "hmof100")
    assert len(records) == 100 and records.y.shape == (100, 5) and not LOADERS["hmof100"].charges_in_files
    assert records.units["CO2_298K_2.5bar"] == "mol/kg"


def test_cgcnn_folder(data_dir):
    records = cgcnn_folder(data_dir / "cgcnn-sample")
    assert records.ids[0] == "1000041" and records.y[:, 0].tolist() == [float(i) for i in range(1, 11)]
    with pytest.raises(DatasetSpecError, match="no id_prop.csv"):
        cgcnn_folder(data_dir / "hmof100")


def test_henry_regime_targets(data_dir):
    folder = data_dir / "crafted726"
    linear = crafted726(folder, pressures=[0.1, 1.0], henry="linear")
    assert linear.targets == ["CO2_298K_0.1bar", "CO2_298K_1bar", "CO2_298K_henry"]
    assert linear.units["CO2_298K_henry"] == "mmol/g/bar" and linear.units["CO2_298K_1bar"] == "mmol/g"
    low = crafted726(folder, pressures=[0.001, 0.002, 0.005])
    pressures = np.array([0.001, 0.002, 0.005])
    expected = low.y @ pressures / (pressures @ pressures)  # least-squares slope through the origin
    assert np.allclose(linear.y[:, 2], expected)
    assert 10 < np.median(linear.y[:, 2]) < 20  # ~ uptake(0.001 bar) / 0.001 bar
    logarithmic = crafted726(folder, pressures=[], henry="log10")
    assert logarithmic.targets == ["CO2_298K_log10_henry"] and logarithmic.units["CO2_298K_log10_henry"] == "log10(mmol/g/bar)"
    empty = expected <= 0  # frameworks that adsorb nothing have no logarithm: missing, not -inf
    assert empty.sum() >= 1 and np.isnan(logarithmic.y[empty, 0]).all()
    assert np.allclose(logarithmic.y[~empty, 0], np.log10(expected[~empty]))
    hmof = hmof100(data_dir / "hmof100", henry="linear")
    assert hmof.y.shape == (100, 6) and np.allclose(hmof.y[:, 5], hmof.y[:, 0] / 0.01)
    assert hmof.units["CO2_298K_henry"] == "mol/kg/bar"
    with pytest.raises(DatasetSpecError, match="henry must be one of"):
        hmof100(data_dir / "hmof100", henry="yes")


def test_infinite_label_is_a_reject_not_a_value(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,y,z\nCCO,1,0\nCC,0,-inf\nCCC,1,1\nC,inf,1\nCCN,1e999,0\n")
    records = smiles_csv(path)
    assert records.ids == ["0", "2"]
    assert dict(records.rejects) == {"1": "label -inf in column 'z' is not finite", "3": "label inf in column 'y' is not finite",
                                     "4": "label inf in column 'y' is not finite"}
    assert np.isfinite(records.y).all()
