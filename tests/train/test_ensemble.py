import json

import numpy as np
import pandas as pd
import pytest

from molgnn.cli import main
from molgnn.errors import ConfigError
from molgnn.screen import predict, screen
from molgnn.train.checkpoint import CheckpointError
from molgnn.train.config import TrainConfig
from molgnn.train.ensemble import ENSEMBLE_FILE, ensemble_members, member_splits, train_ensemble

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CC("]


def _config(**overrides):
    return TrainConfig(**{"model": "gine", "model_args": {"hidden": 16, "layers": 1}, "epochs": 2, "batch_size": 32,
                          "seed": 5, **overrides})


@pytest.fixture(scope="module")
def seed_ensemble(sider, tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble") / "seeds"
    return out, train_ensemble(sider, out, _config(), k=3, mode="seeds", progress=False)


def test_seed_members_share_the_split_and_differ_by_seed(seed_ensemble, sider):
    out, metrics = seed_ensemble
    members = ensemble_members(out)
    assert [m.name for m in members] == ["member0", "member1", "member2"]
    configs = [json.loads((m / "config.json").read_text()) for m in members]
    splits = [json.loads((m / "split.json").read_text()) for m in members]
    assert [c["seed"] for c in configs] == [5, 6, 7] and splits[0] == splits[1] == splits[2]
    assert metrics["ensemble"]["n"] == len(splits[0]["test"]) and set(metrics["member_mean"]) >= {"roc_auc", "f1_macro"}
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_predict_and_screen_read_an_ensemble_folder_as_its_members(seed_ensemble, tmp_path):
    out, _ = seed_ensemble
    folder = predict(out, SMILES)
    members = [predict(m, SMILES) for m in ensemble_members(out)]
    listed = predict(ensemble_members(out), SMILES)
    target = members[0].columns[5]
    values = np.stack([m[target].to_numpy() for m in members])
    np.testing.assert_allclose(folder[target], values.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(folder[f"{target.split(' [')[0]} std"], values.std(axis=0), rtol=1e-5, atol=1e-7)
    pd.testing.assert_frame_equal(folder, listed)
    assert folder["status"].tolist() == ["ok", "ok", "ok", "invalid_smiles"]
    library = tmp_path / "library.csv"
    pd.DataFrame({"smiles": SMILES}).to_csv(library, index=False)
    table = screen(out, library, tmp_path / "hits.csv", workers=0, progress=False).table()
    np.testing.assert_allclose(table.sort_values("index")[target], folder[target], rtol=1e-5)


def test_folds_test_every_record_once(sider, tmp_path):
    splits = member_splits(sider, _config(), 3, "folds")
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(len(sider)))
    for split in splits:
        assert not set(split.test) & (set(split.train) | set(split.val)) and len(split.val) > 0
    metrics = train_ensemble(sider, tmp_path / "folds", _config(epochs=1), k=3, mode="folds", progress=False)
    assert metrics["out_of_fold"]["n"] == len(sider) and len(metrics["members"]) == 3


def test_bad_ensembles_are_refused(sider, tmp_path):
    with pytest.raises(ConfigError, match="at least 2 members"):
        member_splits(sider, _config(), 1)
    with pytest.raises(ConfigError, match="ensemble mode"):
        member_splits(sider, _config(), 2, "bags")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ENSEMBLE_FILE).write_text(json.dumps({"members": ["member0"]}))
    with pytest.raises(CheckpointError, match="not there"):
        ensemble_members(tmp_path / "broken")
    assert ensemble_members(tmp_path) is None


def test_cli_trains_an_ensemble_that_predict_reads(data_dir, tmp_path, capsys):
    rows = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:80]
    rows.to_csv(tmp_path / "sider80.csv", index=False)
    out = tmp_path / "ens"
    code = main(["train", str(tmp_path / "sider80.csv"), "--out", str(out), "--model", "gine", "--model-args",
                 '{"hidden": 16, "layers": 1}', "--epochs", "1", "--ensemble", "2", "--workers", "1",
                 "--cache-dir", str(tmp_path / "cache")])
    printed = capsys.readouterr().out
    assert code == 0 and "ensemble (2 members)" in printed.replace("folder ", "") and "ensemble: " in printed
    pd.DataFrame({"smiles": SMILES[:2]}).to_csv(tmp_path / "two.csv", index=False)
    assert main(["predict", str(out), str(tmp_path / "two.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert any(column.endswith(" std") for column in table.columns) and table["status"].eq("ok").all()


@pytest.mark.slow
def test_a_crystal_descriptor_ensemble_predicts_cifs_without_charges(data_dir, crafted, tmp_path):
    from molgnn.data.build import load_dataset
    from molgnn.featurize.crystal import CrystalFeaturizer

    names = ["ABUWOJ", "ACOLIP", "ACUBAB", "AFITIT", "AFOQUI", "AHINIP", "AMILUE", "AMIMEP", "AMUCOB", "ANUGUM"]
    dataset = load_dataset("crafted726", data_dir, CrystalFeaturizer(descriptors=("pores", "energies")),
                           {"pressures": [0.1, 1], "names": names}, tmp_path / "cache", workers=1, progress=False)
    config = _config(model="charge_descriptors", model_args={"hidden": 8, "layers": 1, "descriptor_hidden": 16},
                     epochs=1, batch_size=4, target_transform="log1p")
    train_ensemble(dataset, tmp_path / "folds", config, k=2, mode="folds", progress=False)
    cifs = [str(crafted / f"{name}.cif") for name in names[:3]]
    table = predict(tmp_path / "folds", cifs, charges="eqeq")  # the DDEC-trained members, EQeq charges computed
    members = [predict(m, cifs, charges="eqeq") for m in ensemble_members(tmp_path / "folds")]
    uptake, spread = "CO2_298K_1bar [mmol/g]", "CO2_298K_1bar std [mmol/g]"
    assert table["status"].tolist() == ["ok"] * 3 and (table[uptake] >= 0).all()  # log1p: never below zero
    np.testing.assert_allclose(table[uptake], np.mean([m[uptake] for m in members], axis=0), rtol=1e-5)
    np.testing.assert_allclose(table[spread], np.std([m[uptake] for m in members], axis=0), rtol=1e-4, atol=1e-7)
