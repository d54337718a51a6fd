"""The training config refuses wrong types, values out of range and model arguments the model cannot take, before any work."""

import json

import pytest

from molgnn.cli import main
from molgnn.errors import ConfigError
from molgnn.train.config import TrainConfig


@pytest.mark.parametrize("values, message", [
    ({"epochs": "five"}, "epochs must be of type int"),
    ({"lr": "fast"}, "lr must be of type float"),
    ({"epochs": True}, "epochs must be of type int"),
    ({"batch_size": 8.5}, "batch_size must be of type int"),
    ({"patience": -1}, "patience must be >= 1"),
    ({"seed": -5}, "seed >= 0"),
    ({"lr": float("nan")}, "lr must be a finite number > 0"),
    ({"weight_decay": -1.0}, "weight_decay must be a finite number >= 0"),
    ({"grad_clip": float("inf")}, "grad_clip must be a finite number >= 0"),
    ({"split_fractions": [1.2, -0.1, -0.1]}, "split_fractions must be three numbers >= 0"),
    ({"split_fractions": [0.9, 0.0, 0.1]}, "train and val > 0"),
    ({"model_args": {"hiden": 64}}, r"has no argument\(s\) \['hiden'\]; its arguments: hidden=64"),
    ({"model_args": {"hidden": "big"}}, "model_args hidden of model 'cgcnn' must be of type int"),
    ({"model_args": {"hidden": True}}, "must be of type int"),
    ({"model_args": {"hidden": -3}}, "is a size or count >= 1"),
    ({"model": "attentivefp", "model_args": {"dropout": 2.0}}, r"dropout of model 'attentivefp' must be in \[0, 1\)"),
    ({"model": "attention", "model_args": {"heads": 0}}, "heads of model 'attention' is a size or count >= 1"),
    ({"model": "attention", "model_args": {"hidden": 30, "heads": 4}}, "cannot be built with model_args"),
])
def test_wrong_types_ranges_and_model_arguments_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(values)


def test_valid_model_arguments_are_kept():
    config = TrainConfig(model="gine", model_args={"hidden": 16, "dropout": 0.1, "layers": 2})
    assert config.to_dict()["model_args"] == {"hidden": 16, "dropout": 0.1, "layers": 2}


def test_cli_refuses_a_bad_config_before_reading_any_data(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("smiles,y\nCCO,1\n")
    config = tmp_path / "config.toml"
    config.write_text('epochs = "five"\n')
    cache = tmp_path / "cache"
    assert main(["train", str(tmp_path / "t.csv"), "--config", str(config), "--out", str(tmp_path / "run"),
                 "--cache-dir", str(cache)]) == 2
    assert capsys.readouterr().err.strip() == "molgnn train: error: epochs must be of type int, got 'five'"
    assert main(["train", str(tmp_path / "t.csv"), "--model-args", json.dumps({"hiden": 64}), "--out", str(tmp_path / "run"),
                 "--cache-dir", str(cache)]) == 2
    assert "has no argument(s) ['hiden']" in capsys.readouterr().err
    assert not cache.exists() and not (tmp_path / "run").exists()  # nothing featurized, no run folder
