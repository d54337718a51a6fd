import json

import pandas as pd

from molgnn.cli import main


def test_imbalance_of_the_training_split(tmp_path, data_dir, capsys):
    args = ["sider", "--data-dir", str(data_dir), "--cache-dir", str(tmp_path / "cache"), "--workers", "1"]
    assert main(["imbalance", *args, "--json"]) == 0
    whole = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["imbalance", *args, "--part", "train", "--split", "stratified", "--out", str(tmp_path / "report"), "--json"]) == 0
    train = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert whole["n_labels"] == train["n_labels"] == 27 and train["n_samples"] < whole["n_samples"]
    assert (tmp_path / "report" / "label_frequencies.png").exists()


def test_oversample_writes_the_training_set_and_report(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    assert main(["oversample", "sider", "--data-dir", str(data_dir), "--cache-dir", str(tmp_path / "cache"),
                 "--workers", "1", "--method", "mlsmote", "--budget", "0.1", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    table = pd.read_csv(out / "train.csv", keep_default_na=False)
    assert len(table) == summary["original"] + summary["synthetic"] and summary["clones"] == 0
    synthetic = table[table["origin"] == "synthetic"]
    assert len(synthetic) == int(0.1 * summary["original"])
    originals = table[table["origin"] == "original"].set_index("id")
    assert (synthetic["smiles"].to_numpy() == originals.loc[synthetic["parent"].astype(str), "smiles"].to_numpy()).all()
    assert summary["after"]["mean_ir"] < summary["before"]["mean_ir"]
    assert {"imbalance_before.csv", "imbalance_after.csv", "imbalance.md", "co_occurrence_after.png"} <= \
        {path.name for path in out.iterdir()}


def test_regression_data_is_refused(tmp_path, data_dir, capsys):
    assert main(["imbalance", "delaney", "--data-dir", str(data_dir), "--cache-dir", str(tmp_path), "--workers", "1"]) == 2
    assert "regression task" in capsys.readouterr().err
