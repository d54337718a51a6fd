"""Ensembles: one featurization per distinct featurizer config, without the parts a model does not read; runs of
different kinds are refused."""

import shutil

import numpy as np
import pytest

from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.screen import predict, screen
from molgnn.screen.ensemble import EnsembleError, load_ensemble
from molgnn.train.checkpoint import load_run
from tests.screen.conftest import _crystal_dataset, _train, direct_predictions


def test_runs_with_different_featurizers_featurize_once_each(tmp_path, crystal_run, charge_run, crystal_files):
    library = tmp_path / "cifs"
    library.mkdir()
    for path in crystal_files[:6]:
        shutil.copy(path, library / path.name)
    ensemble = screen([crystal_run, charge_run, crystal_run], library, tmp_path / "both.parquet", workers=0,
                      progress=False)
    assert ensemble.summary["featurizations"] == 2 and ensemble.summary["models"] == 3
    single = [screen(run, library, tmp_path / f"{run.name}.parquet", workers=0, progress=False).table()["LCD [Å]"].to_numpy()
              for run in (crystal_run, charge_run)]
    table = ensemble.table()
    by_hand = np.stack([single[0], single[1], single[0]])
    np.testing.assert_allclose(table["LCD [Å]"], by_hand.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(table["LCD std [Å]"], by_hand.std(axis=0), rtol=1e-4, atol=1e-6)


def test_molecule_and_crystal_runs_do_not_mix(crystal_run, molecule_runs):
    with pytest.raises(EnsembleError, match="mix molecule and crystal"):
        load_ensemble([crystal_run, molecule_runs[0]])


@pytest.fixture(scope="module")
def cgcnn_on_cif_charges(tmp_path_factory, data_dir, crystal_files):
    """A plain CGCNN, which reads no charges, trained on a featurizer that read them from the CIF files."""
    dataset = _crystal_dataset(data_dir, crystal_files, CrystalFeaturizer(charges="cif"))
    return _train(dataset, tmp_path_factory.mktemp("cgcnn-cif") / "run", "cgcnn", {"hidden": 16, "layers": 1}, 0)


def test_a_model_that_reads_no_charges_predicts_cifs_without_them(cgcnn_on_cif_charges, charge_run, crystal_files, data_dir):
    run = load_run(cgcnn_on_cif_charges)
    assert run.info["model"]["requires"] == [] and run.featurizer.charges == "cif" and run.predict_featurizer.charges == "none"
    without_charges = sorted((data_dir / "hmof100" / "cif").glob("*.cif"))[:4]
    assert predict(run, without_charges)["status"].tolist() == ["ok"] * 4
    with_charges = predict(run, crystal_files[:6])  # the same values as with the charges read
    np.testing.assert_allclose(with_charges.iloc[:, 5].to_numpy(), direct_predictions(cgcnn_on_cif_charges, crystal_files[:6])[:, 0],
                               rtol=1e-5)
    assert predict(charge_run, without_charges)["status"].tolist() == ["no_charges"] * 4  # a model that reads them
