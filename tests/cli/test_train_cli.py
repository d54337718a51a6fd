import json

import numpy as np
import pandas as pd
import pytest

from molgnn.cli import main


def test_train_evaluate_predict(tmp_path, data_dir, capsys):
    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:120]
    frame.to_csv(tmp_path / "esol.csv", index=False)
    pd.DataFrame({"smiles": ["CCO", "C1CC", "c1ccccc1Cl"], "name": ["ethanol", "broken", "chlorobenzene"]}) \
        .to_csv(tmp_path / "new.csv", index=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": "gine", "model_args": {"hidden": 32}, "epochs": 3, "split": "scaffold"}))
    run_dir = tmp_path / "run"
    assert main(["train", str(tmp_path / "esol.csv"), "--config", str(config), "--epochs", "2", "--out", str(run_dir),
                 "--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"mae", "rmse", "r2"} <= set(metrics["test"]) and metrics["epochs_run"] == 2
    resolved = json.loads((run_dir / "config.json").read_text())
    assert resolved["epochs"] == 2 and resolved["split"] == "scaffold"  # flags override the file

    assert main(["evaluate", str(run_dir), str(tmp_path / "esol.csv"), "--cache-dir", str(tmp_path / "cache"),
                 "--subset", "test"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert abs(evaluated["mae"] - metrics["test"]["mae"]) < 1e-5

    out = tmp_path / "predictions.parquet"
    assert main(["predict", str(run_dir), str(tmp_path / "new.csv"), "--id-column", "name", "--out", str(out)]) == 0
    predictions = pd.read_parquet(out)
    assert predictions["id"].tolist() == ["ethanol", "broken", "chlorobenzene"]
    assert predictions["status"].tolist() == ["ok", "invalid_smiles", "ok"] and "syntax" in predictions["reason"][1]
    assert list(predictions.columns) == ["index", "id", "source", "status", "reason", "logp", "domain"]  # no units in a CSV
    assert "3 inputs: 2 predicted, 1 rejected" in capsys.readouterr().out
    assert main(["predict", str(run_dir), str(data_dir / "cgcnn-sample"), "--out", str(tmp_path / "cifs.csv")]) == 2
    assert "is a library of crystals but the model(s) take molecules" in capsys.readouterr().err
    for refused in ("p.txt", "p.xlsx", "p.json", "p"):  # not written as Parquet under another name
        assert main(["predict", str(run_dir), str(tmp_path / "new.csv"), "--out", str(tmp_path / refused)]) == 2
        assert "a result table is Parquet (.parquet) or CSV (.csv)" in capsys.readouterr().err
        assert not (tmp_path / refused).exists()
    assert main(["predict", str(run_dir), str(tmp_path / "new.csv"), "--id-column", "name", "--out", str(tmp_path / "p.csv")]) == 0
    table = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    assert table.drop(columns="logp").equals(predictions.drop(columns="logp").fillna("").astype(str))
    assert np.allclose(table["logp"].replace("", "nan").astype(float), predictions["logp"], equal_nan=True)
    assert not list(tmp_path.glob("*.parts"))  # predict keeps no work folder


def test_config_file_with_unknown_key_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": 1, "learning_rate": 0.1}))
    assert main(["train", "sider", "--config", str(config), "--out", str(tmp_path / "r")]) == 2
    assert "unknown training config key(s) ['learning_rate']" in capsys.readouterr().err


def test_forest_trees_switches_on_what_the_forest_reads_and_prints_each_part_alone(tmp_path, data_dir, capsys):
    pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:120].to_csv(tmp_path / "esol.csv", index=False)
    run_dir = tmp_path / "run"
    assert main(["train", str(tmp_path / "esol.csv"), "--model", "gine", "--model-args", '{"hidden": 16}', "--epochs", "1",
                 "--forest-trees", "10", "--out", str(run_dir), "--cache-dir", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    assert "test, network alone: " in printed and "test, forest alone: " in printed
    weight = json.loads((run_dir / "run.json").read_text())["forest"]["weight"]  # chosen on validation
    assert f"the blend: {weight:g} x network + {1 - weight:g} x forest" in printed
    info = json.loads((run_dir / "run.json").read_text())
    assert info["forest"]["parts"] == ["fingerprint", "descriptors"] and info["featurizer"]["fingerprint_bits"] == 2048
    assert main(["predict", str(run_dir), str(tmp_path / "esol.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert pd.read_csv(tmp_path / "p.csv")["status"].eq("ok").all()
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "esol.csv"), "--forest-trees", "10", "--forest-weight", "half"])
    assert "expected a number in [0, 1] or auto, got 'half'" in capsys.readouterr().err
