"""Ensembles: one featurization per distinct featurizer config; runs of different kinds are refused."""

import shutil

import numpy as np
import pytest

from molgnn.screen import screen
from molgnn.screen.ensemble import EnsembleError, load_ensemble


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
