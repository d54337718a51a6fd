"""The shipped pretrained models (models/<name>): they load, match their cards, reproduce their test
metrics, predict by name as by path, flag inputs outside their domain, and install from a wheel."""

import json
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molgnn.api import GNNEstimator, NotEnsembleError
from molgnn.cli import main
from molgnn.screen import predict
from molgnn.train.ensemble import ensemble_members
from molgnn.train.pretrained import UnknownPretrainedError, get_pretrained, list_pretrained, member_test_metrics, resolve

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("co2-crafted726", "n2-crafted726", "sider", "tox21")
MB = 1e6


def test_the_shipped_models_are_listed_small_and_complete():
    models = {model.name: model for model in list_pretrained()}
    assert set(SHIPPED) <= set(models)
    sizes = {name: sum(p.stat().st_size for p in model.path.rglob("*") if p.is_file()) for name, model in models.items()}
    assert all(size <= 5 * MB for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 30 * MB
    for model in models.values():
        card = model.card
        members = ensemble_members(model.path)
        assert len(members) == card["members"] >= 2
        for member in members:
            info = json.loads((member / "run.json").read_text())
            assert info["featurizer"] == card["featurizer"] and info["model"] == card["model"]
            assert info["targets"] == card["targets"] and (member / "domain.json").exists()
        readme = (model.path / "README.md").read_text()
        assert card["build"] in readme and f"{card['headline'][next(iter(card['headline']))]:.3f}" in readme


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_a_member_reproduces_its_card_test_metrics(name, data_dir):
    model = get_pretrained(name)
    card = model.card
    metrics, _, _ = member_test_metrics(ensemble_members(model.path)[0], card["dataset"], card["options"], data_dir,
                                        workers=2)
    expected = card["member_test"][0]
    assert metrics["n"] == expected["n"]
    for score, value in expected.items():
        assert round(metrics[score], 3) == round(value, 3), score


def test_unknown_names_list_the_shipped_models_and_paths_win(tmp_path):
    with pytest.raises(UnknownPretrainedError, match="shipped models: .*sider"):
        resolve("sidr")
    assert resolve(str(tmp_path)) == str(tmp_path)
    assert resolve("sider") == get_pretrained("sider").path


def test_the_cli_by_name_and_by_path_give_identical_tables(data_dir, tmp_path):
    smiles = pd.read_csv(data_dir / "molnet" / "sider.csv")["smiles"].iloc[:6].tolist() + ["C[Si](C)(C)C", "not a smiles"]
    pd.DataFrame({"smiles": smiles}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["predict", "sider", str(tmp_path / "in.csv"), "--out", str(tmp_path / "by_name.csv")]) == 0
    assert main(["predict", str(get_pretrained("sider").path), str(tmp_path / "in.csv"),
                 "--out", str(tmp_path / "by_path.csv")]) == 0
    by_name, by_path = pd.read_csv(tmp_path / "by_name.csv"), pd.read_csv(tmp_path / "by_path.csv")
    pd.testing.assert_frame_equal(by_name, by_path)
    ok = by_name[by_name["status"] == "ok"]
    assert len(ok) == 7 and by_name["status"].iloc[-1] == "invalid_smiles"
    values = ok[[c for c in ok.columns if c.endswith("]") or c not in ("index", "id", "source", "status", "reason",
                                                                          "domain")]]
    assert np.isfinite(values.to_numpy(dtype=float)).all() and any(" std" in c for c in values.columns)
    assert "elements not in training: Si" in ok["domain"].iloc[-1]


def test_the_crystal_models_predict_cifs_without_charges_and_flag_unseen_metals(data_dir, tmp_path):
    cifs = data_dir / "hmof100" / "cif"
    chosen = [cifs / name for name in ("hMOF-1000268.cif", "hMOF-30976.cif")]  # the second holds Cu
    frame = predict("co2-crafted726", chosen)
    assert frame["status"].eq("ok").all()
    columns = ["CO2_298K_0.1bar [mmol/g]", "CO2_298K_1bar [mmol/g]", "CO2_298K_0.1bar std [mmol/g]",
               "CO2_298K_1bar std [mmol/g]"]
    assert np.isfinite(frame[columns].to_numpy()).all() and (frame[columns[2:]].to_numpy() > 0).all()
    assert "elements not in training: Cu" in frame["domain"].iloc[1]


def test_the_estimator_of_a_shipped_model_gives_means_spreads_and_labels(data_dir):
    smiles = pd.read_csv(data_dir / "molnet" / "tox21.csv")["smiles"].iloc[:5].tolist()
    model = GNNEstimator.pretrained("tox21")
    probabilities, spread, labels = model.predict_proba(smiles), model.predict_std(smiles), model.predict(smiles)
    assert probabilities.shape == spread.shape == labels.shape == (5, 12)
    assert ((probabilities >= 0) & (probabilities <= 1)).all() and (spread >= 0).all() and (spread > 0).any()
    frame = predict("tox21", smiles)
    np.testing.assert_allclose(probabilities, frame[[c for c in frame.columns if c in model.targets_]].to_numpy())
    single = GNNEstimator.load(ensemble_members(get_pretrained("tox21").path)[0])
    with pytest.raises(NotEnsembleError):
        single.predict_std(smiles)


def test_molgnn_models_lists_the_pretrained_models(capsys):
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["pretrained"]}
    assert set(SHIPPED) <= set(listed)
    assert listed["co2-crafted726"]["targets"] == {"CO2_298K_0.1bar": "mmol/g", "CO2_298K_1bar": "mmol/g"}
    assert main(["models", "tox21"]) == 0
    assert "summary: Probabilities of activity in the 12 Tox21 assays" in capsys.readouterr().out


def test_every_manifest_names_what_a_card_needs():
    for name in SHIPPED:
        manifest = tomllib.loads((REPO / "models" / name / "model.toml").read_text())
        assert {"summary", "dataset", "train", "refuses", "intended_use", "limits"} <= set(manifest)
        assert "--folds" in manifest["train"]


@pytest.mark.slow
def test_a_wheel_install_lists_and_uses_the_models(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("molgnn-*.whl"))
    venv.create(tmp_path / "env", system_site_packages=True, with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    code = ("import json, molgnn; from molgnn.train.pretrained import models_folder; from molgnn.screen import predict; "
            "frame = predict('sider', ['CCO']); "
            "print(json.dumps([molgnn.__file__, str(models_folder()), frame['status'].tolist()]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([python, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    module, folder, status = json.loads(out.stdout.strip().splitlines()[-1])
    assert str(tmp_path / "env") in module and str(tmp_path / "env") in folder and status == ["ok"]
    listed = subprocess.run([tmp_path / "env" / "bin" / "molgnn", "models"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, check=True).stdout
    assert all(name in listed for name in SHIPPED)
