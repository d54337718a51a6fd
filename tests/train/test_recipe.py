"""The regression recipe for adsorption: log1p targets, L1/Huber losses, weight averaging, descriptor scaling."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from molgnn.data.build import dataset_from_inputs
from molgnn.errors import DataError
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.train import trainer
from molgnn.train.checkpoint import load_run
from molgnn.train.config import TrainConfig
from molgnn.train.targets import TargetScaler, masked_loss

from .test_trainer import Interrupt


def _uptake(data_dir, name: str) -> list[float]:
    """CO2 uptake (mmol/g) at 298 K, 0.1 and 1 bar, UFF+DDEC, from the crafted726 isotherm."""
    iso = pd.read_csv(data_dir / "crafted726" / "isotherms" / f"{name}_CO2.csv")
    iso = iso[(iso["ID"] == 1) & (iso["Temp(K)"] == 298)].set_index("Pressure(Pa)")["Loading(mmol/g)"]
    return [float(iso.loc[1e4]), float(iso.loc[1e5])]


@pytest.fixture(scope="module")
def crafted_descriptors(data_dir, crafted):
    paths = sorted(crafted.glob("*.cif"))[:48]
    y = np.array([_uptake(data_dir, p.stem) for p in paths])
    return dataset_from_inputs(paths, y, CrystalFeaturizer(descriptors=("pores", "energies")), ids=[p.stem for p in paths],
                               targets=["CO2_0.1bar", "CO2_1bar"], task="multiregression", name="crafted48")


def _config(**overrides):
    values = dict(model="charge_descriptors", model_args={"hidden": 16, "layers": 1, "norm": "layer"}, epochs=4,
                  batch_size=8, seed=1, patience=50, loss="l1", target_transform="log1p", ema=0.9)
    values.update(overrides)
    return TrainConfig(**values)


def test_log1p_targets_round_trip_and_predictions_are_never_negative():
    y = torch.tensor([[0.0, 1.0], [2.0, 5.0], [float("nan"), 9.0]])
    scaler = TargetScaler.fit(y, "multiregression", "log1p")
    assert torch.allclose(scaler.unscale(scaler.scale(y))[:2], y[:2], atol=1e-5)
    assert (scaler.unscale(torch.full((3, 2), -50.0)) == 0).all()
    assert TargetScaler.from_dict(json.loads(json.dumps(scaler.to_dict()))).to_dict() == scaler.to_dict()
    assert scaler.target_std.tolist() == pytest.approx([1.0, np.std([1.0, 5.0, 9.0])])
    with pytest.raises(DataError, match="cannot be negative"):
        TargetScaler.fit(torch.tensor([[-1.0], [2.0]]), "regression", "log1p")


def test_regression_losses():
    output, target = torch.tensor([[0.0, 3.0]]), torch.tensor([[1.0, 0.0]])
    mask = torch.ones_like(target, dtype=torch.bool)
    assert masked_loss("regression", output, target, mask, loss="l1").item() == pytest.approx(2.0)
    assert masked_loss("regression", output, target, mask, loss="mse").item() == pytest.approx(5.0)
    assert masked_loss("regression", output, target, mask, loss="huber").item() == pytest.approx((0.5 + 2.5) / 2)


def test_the_hybrid_recipe_trains_resumes_exactly_and_saves_the_average(crafted_descriptors, tmp_path):
    whole = trainer.train(crafted_descriptors, tmp_path / "whole", _config(), progress=False)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(crafted_descriptors, tmp_path / "cut", _config(), progress=False, callbacks=[Interrupt()])
    assert trainer.train(crafted_descriptors, tmp_path / "cut", _config(), progress=False) == whole

    run = load_run(tmp_path / "whole")
    split = json.loads((tmp_path / "whole" / "split.json").read_text())
    train_rows = [crafted_descriptors.ids.index(i) for i in split["train"]]
    scale = run.model.descriptor_encoder.scale
    assert torch.allclose(scale.mean, crafted_descriptors.descriptors[train_rows].mean(0), rtol=1e-4, atol=1e-5)
    assert run.scaler.transform == "log1p"
    assert all(t["mae"] >= 0 for t in whole["test"]["per_target"].values())
    last = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    saved = torch.load(tmp_path / "whole" / "weights.pt", weights_only=True)
    assert "ema" in last and not torch.equal(saved["head.0.weight"], last["model"]["head.0.weight"])  # the average is saved


def test_the_shipped_co2_recipe_trains_on_descriptor_graphs_and_reports_its_baselines(crafted_descriptors, tmp_path):
    recipe = Path(__file__).parents[2] / "models" / "recipes" / "co2-crafted726.toml"
    config = replace(TrainConfig.from_file(recipe), epochs=2)
    metrics = trainer.train(crafted_descriptors, tmp_path / "run", config, progress=False)
    assert load_run(tmp_path / "run").info["model"]["name"] == config.model == "edge_attention_charge_descriptors"
    assert set(metrics["test_baselines"]) == {"mean predictor", "random forest on the descriptors"}
    assert all(np.isfinite(t["mae"]) for t in metrics["test"]["per_target"].values())


def test_ema_with_distributed_training_is_refused():
    with pytest.raises(Exception, match="ema"):
        TrainConfig(ema=0.9, distributed="ddp")
