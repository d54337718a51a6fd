import hashlib
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from molgnn.data.build import dataset_from_inputs, load_dataset
from molgnn.errors import ConfigError
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.ownership import OutputInUseError
from molgnn.screen import predict
from molgnn.train import checkpoint, trainer
from molgnn.train.checkpoint import CheckpointError, load_run
from molgnn.train.config import TrainConfig
from molgnn.train.evaluate import evaluate
from tests.together import REPO


@pytest.fixture(scope="module")
def sider(data_dir):
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:160]
    return dataset_from_inputs(frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(),
                               MoleculeFeaturizer(fingerprint_bits=256), targets=list(frame.columns[1:]), name="sider160")


@pytest.fixture(scope="module")
def crafted_small(data_dir, tmp_path_factory):
    dataset = load_dataset("crafted726", data_dir=data_dir, cache_dir=tmp_path_factory.mktemp("cache"), workers=2,
                           progress=False)
    return dataset[torch.arange(60)]


def _config(**overrides):
    values = dict(model="gine", model_args={"hidden": 32, "layers": 2}, epochs=4, batch_size=32, seed=3,
                  patience=50)
    values.update(overrides)
    return TrainConfig(**values)


def test_same_seed_same_metrics_and_loss_falls(sider, tmp_path):
    first = trainer.train(sider, tmp_path / "a", _config(), progress=False)
    second = trainer.train(sider, tmp_path / "b", _config(), progress=False)
    assert first == second
    history = json.loads((tmp_path / "a" / "log.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (tmp_path / "a" / "plots" / "roc.png").exists() and (tmp_path / "a" / "log.csv").exists()
    assert 0 <= first["test"]["roc_auc"] <= 1 and "test_tuned_threshold" in first


class Interrupt(trainer.Callback):
    """Stops the process (as Ctrl-C would) when the third epoch starts."""

    def on_epoch_start(self, training, epoch):
        if epoch == 2:
            raise KeyboardInterrupt


class Record(trainer.Callback):
    def __init__(self):
        self.events = []

    def on_epoch_start(self, training, epoch):
        self.events.append(("start", epoch))

    def on_epoch_end(self, training, epoch, row):
        self.events.append(("end", epoch, row["epoch"], training.state["history"][-1] is row))

    def on_metrics(self, training, metrics):
        self.events.append(("metrics", metrics["best_epoch"]))


def test_resume_equals_uninterrupted(sider, tmp_path):
    whole = trainer.train(sider, tmp_path / "whole", _config(), progress=False)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(sider, tmp_path / "cut", _config(), progress=False, callbacks=[Interrupt()])
    assert [row["epoch"] for row in json.loads((tmp_path / "cut" / "log.json").read_text())] == [1, 2]
    record = Record()
    resumed = trainer.train(sider, tmp_path / "cut", _config(), progress=False, callbacks=[record])
    assert resumed == whole
    log = json.loads((tmp_path / "cut" / "log.json").read_text())
    assert [row["epoch"] for row in log] == [1, 2, 3, 4]
    assert record.events == [("start", 2), ("end", 2, 3, True), ("start", 3), ("end", 3, 4, True),
                             ("metrics", whole["best_epoch"])]


def test_a_callback_can_stop_training(sider, tmp_path):
    class StopAfterTwo(trainer.Callback):
        def on_epoch_end(self, training, epoch, row):
            training.stop = epoch == 1

    metrics = trainer.train(sider, tmp_path, _config(), progress=False, callbacks=[StopAfterTwo()])
    assert metrics["epochs_run"] == 2 and len(json.loads((tmp_path / "log.json").read_text())) == 2


def test_epoch_seeds_are_those_resumed_runs_depend_on():
    assert [trainer.epoch_seed(3, epoch) for epoch in (0, 1, 2)] == [300_009, 300_010, 300_011]


def test_checkpoint_round_trip_and_broken_files(sider, tmp_path):
    trainer.train(sider, tmp_path / "run", _config(epochs=2), progress=False)
    run = load_run(tmp_path / "run")
    smiles = ["CCO", "c1ccccc1", "C1CC("]
    first = predict(run, smiles)
    again = predict(tmp_path / "run", smiles)
    pd.testing.assert_frame_equal(first, again)
    assert first["status"].tolist() == ["ok", "ok", "invalid_smiles"] and "syntax" in first["reason"][2]
    assert first.iloc[2, 5:].isna().all() and first.iloc[:2, 5:].notna().all().all() and len(first) == 3
    weights = tmp_path / "run" / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="checksum"):
        load_run(tmp_path / "run")
    (tmp_path / "run" / "run.json").write_text("{")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_run(tmp_path / "run")


def test_version_mismatch_warns(sider, tmp_path):
    trainer.train(sider, tmp_path / "run", _config(epochs=1), progress=False)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    info["molgnn_version"] = "0.0.1"
    checkpoint.save_info(tmp_path / "run", info)  # written (and checksummed) as an older molgnn would have
    with pytest.warns(UserWarning, match="saved by molgnn 0.0.1"):
        load_run(tmp_path / "run")


def test_every_file_that_decides_predictions_is_checked(sider, tmp_path):
    run_dir = tmp_path / "run"
    trainer.train(sider, run_dir, _config(epochs=1), progress=False)
    before = predict(run_dir, ["CCO"]).iloc[0, 5:-1].to_numpy(float)
    info = json.loads((run_dir / "run.json").read_text())
    shifted = json.loads(json.dumps(info))
    shifted["scaler"]["mean"] = [m + 10 for m in shifted["scaler"]["mean"]]
    (run_dir / "run.json").write_text(json.dumps(shifted))  # edited by hand: SHA256SUMS no longer matches
    with pytest.raises(CheckpointError, match="run.json does not match its checksum in SHA256SUMS"):
        load_run(run_dir)
    resized = json.loads(json.dumps(info))
    resized["featurizer"]["max_degree"] = 3
    checkpoint.save_info(run_dir, resized)  # even re-checksummed, inputs of another size are refused
    with pytest.raises(CheckpointError, match="makes inputs of node_dim=.*but the model was built for node_dim="):
        load_run(run_dir)
    checkpoint.save_info(run_dir, info)
    weights = torch.load(run_dir / "weights.pt", weights_only=True)
    torch.save({**weights, "extra": np.arange(3)}, run_dir / "weights.pt")  # a numpy array: not weights-only loadable
    info["weights_sha256"] = hashlib.sha256((run_dir / "weights.pt").read_bytes()).hexdigest()
    checkpoint.save_info(run_dir, info)
    with pytest.raises(CheckpointError, match="cannot rebuild the model"):
        load_run(run_dir)
    torch.save(weights, run_dir / "weights.pt")
    info["weights_sha256"] = hashlib.sha256((run_dir / "weights.pt").read_bytes()).hexdigest()
    checkpoint.save_info(run_dir, info)
    assert np.allclose(predict(run_dir, ["CCO"]).iloc[0, 5:-1].to_numpy(float), before)
    (run_dir / "SHA256SUMS").unlink()
    with pytest.raises(CheckpointError, match="no SHA256SUMS"):
        load_run(run_dir)


@pytest.mark.parametrize("model", ["attentivefp", "hybrid"])
def test_molecule_models_learn(model, sider, tmp_path):
    trainer.train(sider, tmp_path, _config(model=model, model_args={"hidden": 32}, epochs=5, lr=3e-3), progress=False)
    history = json.loads((tmp_path / "log.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cgcnn", "edge", "attention", "charge", "edge_attention_charge"])
def test_crystal_models_learn_co2_uptake(model, crafted_small, tmp_path):
    metrics = trainer.train(crafted_small, tmp_path, _config(model=model, model_args={"hidden": 32, "layers": 2},
                                                             epochs=6, batch_size=8, lr=3e-3), progress=False)
    history = json.loads((tmp_path / "log.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert set(metrics["test"]["per_target"]) == {"CO2_298K_1bar"} and (tmp_path / "plots" / "parity.png").exists()
    assert json.loads((tmp_path / "run.json").read_text())["units"] == {"CO2_298K_1bar": "mmol/g"}


def test_wrong_model_for_data_is_refused(sider, tmp_path):
    with pytest.raises(ValueError, match="for crystals"):
        trainer.train(sider, tmp_path, _config(model="cgcnn"), progress=False)
    with pytest.raises(ValueError, match="unknown training config key"):
        TrainConfig.from_dict({"epochs": 3, "learning_rate": 0.1})
    with pytest.raises(ValueError, match="model must be one of"):
        TrainConfig(model="cgcn")
    with pytest.raises(ValueError, match=r"'gine' has no argument\(s\) \['heads'\]"):
        TrainConfig(model="gine", model_args={"heads": 4})


def test_scaffold_and_stratified_splits_are_saved(sider, tmp_path):
    for method in ("scaffold", "stratified"):
        trainer.train(sider, tmp_path / method, _config(split=method, epochs=1), progress=False)
        saved = json.loads((tmp_path / method / "split.json").read_text())
        assert saved["method"] == method and len(saved["train"]) + len(saved["val"]) + len(saved["test"]) == len(sider)
        assert np.isin(saved["test"], sider.ids).all()


def test_predictions_stay_in_their_rows_when_ids_repeat(sider, tmp_path):
    trainer.train(sider, tmp_path, _config(epochs=1), progress=False)
    run = load_run(tmp_path)
    frame = predict(run, ["CCO", "C1CC", "c1ccccc1"], ids=["a", "a", "b"])
    assert frame["status"].tolist() == ["ok", "invalid_smiles", "ok"] and "syntax" in frame["reason"][1]
    assert frame["id"].tolist() == ["a", "a", "b"] and frame["index"].tolist() == [0, 1, 2]
    assert frame.iloc[0, 5:].notna().all() and frame.iloc[1, 5:].isna().all()
    alone = predict(run, ["CCO"])
    np.testing.assert_allclose(frame.iloc[0, 5:-1].to_numpy(float), alone.iloc[0, 5:-1].to_numpy(float), rtol=1e-6)


@pytest.mark.parametrize("oversample", ["cooccurrence", "mlsmote"])
def test_oversampled_training_set_trains_end_to_end(sider, tmp_path, oversample):
    config = _config(model="hybrid", model_args={"hidden": 32, "fp_hidden": 32}, epochs=2, split="stratified",
                     oversample=oversample, oversample_budget=0.25)
    metrics = trainer.train(sider, tmp_path / "run", config, progress=False)
    assert 0 <= metrics["test"]["roc_auc"] <= 1
    report = json.loads((tmp_path / "run" / "imbalance.json").read_text())
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert report["before"]["n_samples"] == len(split["train"]) == report["original"]
    assert report["after"]["n_samples"] == report["original"] + report["clones"] + report["synthetic"]
    assert 0 < report["after"]["n_samples"] - report["original"] <= int(0.25 * len(split["train"]))
    assert report["after"]["mean_ir"] < report["before"]["mean_ir"]
    assert load_run(tmp_path / "run").info["train_config"]["oversample"] == oversample


def test_oversampling_a_regression_task_is_refused(crafted_small, tmp_path):
    with pytest.raises(ValueError, match="class labels"):
        trainer.train(crafted_small, tmp_path / "run", _config(model="cgcnn", oversample="ml-ros"), progress=False)


def test_multiregression_reports_every_target_in_its_unit(data_dir, tmp_path):
    qm9 = load_dataset("qm9_subset_499", data_dir=data_dir, cache_dir=tmp_path / "cache", workers=1, progress=False)
    metrics = trainer.train(qm9, tmp_path / "run", _config(epochs=2), progress=False)
    assert len(qm9.targets) == 12
    assert list(metrics["test"]["per_target"]) == qm9.targets
    assert all(np.isfinite(values["mae"]) and values["n_observed"] > 0 for values in metrics["test"]["per_target"].values())
    assert load_run(tmp_path / "run").info["units"] == qm9.units and "mu" in qm9.units


def test_resuming_with_another_config_is_refused_before_writing_anything(sider, tmp_path):
    run_dir = tmp_path / "run"
    finished = trainer.train(sider, run_dir, _config(epochs=1), progress=False)
    written = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    with pytest.raises(ConfigError, match=r"holds a run with another training config or data .*differ in model, model_args\)"):
        trainer.train(sider, run_dir, _config(model="attentivefp", model_args={"hidden": 32}, epochs=1), progress=False)
    other_data = dataset_from_inputs(sider.smiles, sider.labels.numpy(), MoleculeFeaturizer(), targets=sider.targets)
    with pytest.raises(ConfigError, match="differ in featurizer"):
        trainer.train(other_data, run_dir, _config(epochs=1), progress=False)
    assert {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()} == written
    assert trainer.train(sider, run_dir, _config(epochs=1), progress=False) == finished  # the same config: found finished
    # without a forest, the forest's weight decides nothing: a run saved under another default is the same run
    assert trainer.train(sider, run_dir, _config(epochs=1, forest_weight=0.2), progress=False) == finished
    with pytest.raises(ConfigError, match=r"differ in forest_trees, forest_weight\)"):
        trainer.train(sider, run_dir, _config(epochs=1, forest_trees=5, forest_weight=0.2), progress=False)


def test_a_model_that_does_not_fit_the_data_leaves_no_folder(sider, tmp_path):
    with pytest.raises(ConfigError, match="model 'cgcnn' is for crystals, but dataset 'sider160' holds molecules"):
        trainer.train(sider, tmp_path / "run", _config(model="cgcnn", model_args={}), progress=False)
    assert not (tmp_path / "run").exists()


def test_log_reports_mae_in_target_units_and_names_the_scaled_monitor(data_dir, tmp_path):
    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:120]
    esol = dataset_from_inputs(frame["smiles"].tolist(), frame[["logp"]].to_numpy(), MoleculeFeaturizer(), targets=["logp"])
    metrics = trainer.train(esol, tmp_path / "run", _config(epochs=3), progress=False)
    log = pd.read_csv(tmp_path / "run" / "log.csv")
    std = json.loads((tmp_path / "run" / "run.json").read_text())["scaler"]["std"][0]
    assert list(log.columns[:5]) == ["epoch", "train_loss", "val_loss", "val_mae", "val_scaled_mae"]
    np.testing.assert_allclose(log["val_scaled_mae"] * std, log["val_mae"], rtol=1e-5)
    best = log.loc[log["epoch"] == metrics["best_epoch"]].iloc[0]
    assert abs(best["val_mae"] - metrics["val"]["mae"]) < 1e-4  # the log and metrics.json agree, in the target's units


def test_every_classification_metric_names_its_threshold(sider, tmp_path):
    metrics = trainer.train(sider, tmp_path / "run", _config(epochs=1), progress=False)
    assert metrics["val"]["threshold"] == metrics["test"]["threshold"] == "0.5"
    assert metrics["val_tuned_threshold"]["threshold"] == metrics["test_tuned_threshold"]["threshold"] == "tuned on val"
    assert evaluate(load_run(tmp_path / "run"), sider)["threshold"] == "tuned on val"
    assert evaluate(load_run(tmp_path / "run"), sider, thresholds=0.5)["threshold"] == "0.5"


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_run_folder_is_held_while_training_and_a_killed_run_resumes(data_dir, tmp_path):
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:120]
    frame.to_csv(tmp_path / "sider120.csv", index=False)
    run_dir, epochs = tmp_path / "run", 8
    args = ["--model", "gine", "--model-args", '{"hidden": 16, "layers": 1}', "--epochs", str(epochs), "--patience", "50"]
    process = subprocess.Popen([sys.executable, "-m", "molgnn", "train", str(tmp_path / "sider120.csv"), *args, "--out",
                                str(run_dir), "--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--json"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dataset = load_dataset(tmp_path / "sider120.csv", cache_dir=tmp_path / "cache", progress=False)  # waits for its build
    config = _config(model="gine", model_args={"hidden": 16, "layers": 1}, epochs=epochs, seed=0)
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / trainer.LAST).exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(OutputInUseError, match=f"training run {run_dir} is in use by pid {process.pid} on host "):
            trainer.train(dataset, run_dir, config, progress=False)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert len(json.loads((run_dir / "log.json").read_text())) < epochs and (tmp_path / ".run.lock").exists()
    metrics = trainer.train(dataset, run_dir, config, progress=False)  # the dead trainer's claim is taken over
    assert metrics["epochs_run"] == epochs
    assert [row["epoch"] for row in json.loads((run_dir / "log.json").read_text())] == list(range(1, epochs + 1))
    assert not list(tmp_path.glob(".run*"))  # the claim went with the run


def test_descriptor_model_normalizes_with_the_training_split_only(data_dir, tmp_path):
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:120]
    dataset = dataset_from_inputs(frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(),
                                  MoleculeFeaturizer(fingerprint_bits=128, descriptors="rdkit2d"),
                                  targets=list(frame.columns[1:]), name="sider120")
    config = _config(model="hybrid_descriptors", model_args={"hidden": 16, "fp_hidden": 16, "descriptor_hidden": 16},
                     epochs=2)
    trainer.train(dataset, tmp_path, config, progress=False)
    run = load_run(tmp_path)
    train = json.loads((tmp_path / "split.json").read_text())["train"]
    train_values = dataset[torch.as_tensor([dataset.ids.index(i) for i in train])].descriptors
    expected = torch.nanquantile(train_values, torch.linspace(0, 1, 256), dim=0).T.nan_to_num(0.0)
    assert torch.allclose(run.model.scaler.knots, expected)
    assert not torch.allclose(run.model.scaler.knots, torch.nanquantile(dataset.descriptors, torch.linspace(0, 1, 256),
                                                                        dim=0).T.nan_to_num(0.0))
    table = predict(run, ["CCO", "[Pt]"])  # platinum: descriptors RDKit cannot compute, imputed
    assert table["status"].tolist() == ["ok", "ok"] and table.iloc[:, 5:].notna().all().all()
    assert "elements not in training: Pt" in table["domain"].iloc[1]
