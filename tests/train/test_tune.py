import json

import optuna
import pandas as pd
import pytest

from molgnn.cli import main
from molgnn.errors import ConfigError
from molgnn.models import MODELS
from molgnn.train import trainer
from molgnn.train.checkpoint import load_run
from molgnn.train.config import TrainConfig
from molgnn.train.ensemble import member_splits
from molgnn.train.tune import TRAINING_SPACE, PruningCallback, base_params, study_dataset, study_splits, suggest, trial_config, tune


def _config(**overrides):
    return TrainConfig(**{"model": "gine", "model_args": {"hidden": 16}, "epochs": 3, "seed": 2, **overrides})


def test_every_model_declares_a_search_space_of_its_own_arguments():
    for spec in MODELS.values():
        assert spec.search_space and set(spec.search_space) <= set(spec.arguments()), spec.name
    study = optuna.create_study()
    params = suggest(study.ask(), {**TRAINING_SPACE, **MODELS["hybrid_descriptors"].search_space})
    config = trial_config(_config(model="hybrid_descriptors", model_args={"dropout": 0.1}), params)
    assert config.lr == params["lr"] and config.model_args["hidden"] == params["hidden"]
    assert config.model_args["dropout"] == params["dropout"] and "lr" not in config.model_args


def test_base_params_are_the_config_values_inside_the_search_space():
    params = base_params(_config(model="hybrid_descriptors", model_args={"hidden": 128, "dropout": 0.2}))
    assert params["hidden"] == 128 and params["dropout"] == 0.2 and params["lr"] == 1e-3 and params["batch_size"] == 32
    assert params["layers"] == 2 and params["descriptor_scaling"] == "quantile"  # the model's defaults
    assert "hidden" not in base_params(_config())  # gine with hidden 16: outside the choices, left to the sampler


def test_the_study_never_sees_the_test_records(sider):
    subset, split = study_dataset(sider, _config())
    full = member_splits(sider, _config(), 2)[0]
    test_ids = {sider.ids[k] for k in full.test}
    assert len(subset) == len(full.train) + len(full.val) and not test_ids & set(subset.ids)
    assert len(split.test) == 0 and [subset.ids[k] for k in split.val] == [sider.ids[k] for k in full.val]


def test_pruning_callback_stops_a_trial_that_optuna_prunes(sider, tmp_path):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.01))
    callback = PruningCallback(study.ask())
    trainer.train(sider, tmp_path, _config(epochs=5), progress=False, callbacks=[callback])
    assert callback.pruned and len(callback.values) == 1
    assert len(json.loads((tmp_path / "log.json").read_text())) == 1


@pytest.mark.multiprocess
def test_parallel_study_writes_a_best_config_train_accepts_and_resumes(sider, tmp_path):
    result = tune(sider, tmp_path / "study", _config(), trials=3, jobs=2, warmup_epochs=1, progress=False)
    finished = result.trials["complete"] + result.trials["pruned"]
    assert finished >= 3 and result.trials["fail"] == 0 and result.monitor == "roc_auc"
    assert TrainConfig.from_file(result.best_config_path) == result.best_config
    best = load_run(tmp_path / "study" / "trials" / f"trial{result.best_trial}")
    assert best.info["train_config"] == result.best_config.to_dict() and 0 <= result.best_value <= 1
    first = json.loads((tmp_path / "study" / "trials" / "trial0" / "config.json").read_text())
    assert first["lr"] == _config().lr and first["batch_size"] == _config().batch_size
    assert first["model_args"]["layers"] == MODELS["gine"].arguments()["layers"]  # trial 0 is the base config
    trials = pd.read_csv(tmp_path / "study" / "trials.csv")
    assert len(trials) == finished and result.best_value == trials["value"].max()
    again = tune(sider, tmp_path / "study", _config(), trials=finished + 1, jobs=1, warmup_epochs=1, progress=False)
    assert again.trials["complete"] + again.trials["pruned"] == finished + 1  # the earlier trials were kept


def test_cli_tune_then_train_with_the_best_config(data_dir, tmp_path, capsys):
    rows = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:80]
    rows.to_csv(tmp_path / "sider80.csv", index=False)
    common = [str(tmp_path / "sider80.csv"), "--workers", "1", "--cache-dir", str(tmp_path / "cache")]
    assert main(["tune", *common, "--out", str(tmp_path / "study"), "--model", "gine", "--epochs", "2",
                 "--trials", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["train", *common, "--out", str(tmp_path / "run"), "--config", summary["best_config_path"]]) == 0
    assert load_run(tmp_path / "run").info["train_config"] == summary["best_config"]


def test_a_study_without_trials_is_refused(sider, tmp_path):
    with pytest.raises(ConfigError, match="trials, jobs and repeats"):
        tune(sider, tmp_path, _config(), trials=0)


def test_repeated_splits_score_a_trial_by_their_mean_and_keep_out_the_test_records(sider, tmp_path):
    subset, split = study_dataset(sider, _config())
    splits = study_splits(subset, split, _config(), 3)
    assert splits[0] is split and len({tuple(s.val) for s in splits}) == 3  # three different validation sets
    assert all(len(s.test) == 0 and abs(len(s.val) - len(split.val)) <= 1 for s in splits)
    result = tune(sider, tmp_path / "study", _config(epochs=2), trials=1, warmup_epochs=1, progress=False, repeats=2)
    best = []
    for r in range(2):
        run = tmp_path / "study" / "trials" / "trial0" / f"split{r}"
        assert json.loads((run / "split.json").read_text())["val"] == [subset.ids[k] for k in splits[r].val]
        best.append(max(row["val_roc_auc"] for row in json.loads((run / "log.json").read_text())))
    assert result.best_value == pytest.approx(sum(best) / 2)
    with pytest.raises(ConfigError, match="scores each trial on 2 split"):  # resumed with another objective
        tune(sider, tmp_path / "study", _config(epochs=2), trials=2, progress=False)


def _start_queued_trials(storage_url: str, ready, queue, asks: int) -> None:
    from molgnn.train.tune import _storage

    study = optuna.load_study(study_name="molgnn", storage=_storage(storage_url))
    ready.wait()
    queue.put([study.ask().number for _ in range(asks)])


@pytest.mark.multiprocess
def test_a_queued_trial_is_started_by_one_process_only(tmp_path):
    import multiprocessing

    from molgnn.train.tune import _storage

    url, processes, asks = f"sqlite:///{tmp_path / 'study.db'}", 6, 8
    study = optuna.create_study(storage=_storage(url), study_name="molgnn")
    for _ in range(processes * asks):  # the race is between reading WAITING and writing RUNNING: many chances
        study.enqueue_trial({"x": 1.0}, skip_if_exists=False)
    context = multiprocessing.get_context("fork")
    ready, queue = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_start_queued_trials, args=(url, ready, queue, asks)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    numbers = sum((queue.get(timeout=120) for _ in workers), [])
    for worker in workers:
        worker.join(timeout=60)
    assert len(set(numbers)) == len(numbers), f"trials started by several processes: {sorted(numbers)}"
    assert set(numbers) == set(range(processes * asks))  # every queued trial started, none created beside them
