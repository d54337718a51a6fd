import csv
import json

import numpy as np
import pytest
import torch

from molgnn.data import build
from molgnn.data.build import DatasetBuildError, load_dataset, resolve_spec
from molgnn.data.sources import DatasetSpecError
from molgnn.errors import ConfigError
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer


@pytest.fixture
def small_csv(tmp_path, data_dir):
    """40 real tox21 rows (with missing labels) plus a bad SMILES and a bad label."""
    lines = (data_dir / "molnet" / "tox21.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:41]
    bad_smiles = "C1CC" + rows[0][rows[0].index(","):]
    bad_label = rows[1].split(",")[0] + ",maybe" + rows[1][rows[1].index(",", rows[1].index(",") + 1):]
    path = tmp_path / "small.csv"
    path.write_text("\n".join([header, *rows, bad_smiles, bad_label]) + "\n")
    return path


def test_build_reports_every_reject_and_masks_missing_labels(small_csv, cache_dir):
    dataset = load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False)
    assert len(dataset) == 40 and dataset.task == "multilabel" and len(dataset.targets) == 12
    reasons = dict(dataset.rejects)
    assert set(reasons) == {"40", "41"}
    assert "syntax" in reasons["40"] and "not a number" in reasons["41"]
    with open(dataset.meta["cache_dir"] + "/rejects.csv") as handle:
        report = list(csv.DictReader(handle))
    assert {row["id"] for row in report} == {"40", "41"} and all(row["reason"] for row in report)
    graph = dataset[0]
    assert graph.y.shape == (1, 12) and graph.y_mask.dtype == torch.bool
    assert torch.isnan(graph.y[~graph.y_mask]).all() and not torch.isnan(graph.y[graph.y_mask]).any()
    assert (~dataset.labels.isnan()).sum() < 40 * 12  # tox21 rows have gaps
    assert graph.x.dtype == torch.float32  # expanded on access


def test_strict_build_fails_after_writing_the_report(small_csv, cache_dir):
    with pytest.raises(DatasetBuildError, match="2 record"):
        load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False, strict=True)
    assert list(cache_dir.rglob("rejects.csv"))


def test_cache_is_reused_and_invalidated_by_config(small_csv, cache_dir, monkeypatch):
    first = load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False)
    calls = []
    monkeypatch.setattr(build, "_build", lambda *a, **k: calls.append(a))
    again = load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False)
    assert not calls and again.meta["cache_dir"] == first.meta["cache_dir"]
    with pytest.raises(FileNotFoundError):  # a different config must not reuse the cache entry
        load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False,
                     featurizer=MoleculeFeaturizer(fingerprint_bits=128))
    assert len(calls) == 1


def test_interrupted_build_resumes_without_redoing_chunks(small_csv, cache_dir, monkeypatch):
    real = build._featurize_chunk
    done = []

    def interrupt_third(*args):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(args[4].name)
        return real(*args)

    monkeypatch.setattr(build, "_featurize_chunk", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False, chunk_size=10)
    monkeypatch.setattr(build, "_featurize_chunk", lambda *args: done.append(args[4].name) or real(*args))
    resumed = load_dataset(small_csv, cache_dir=cache_dir, workers=1, progress=False, chunk_size=10)
    assert done == ["000000.pt", "000001.pt", "000002.pt", "000003.pt", "000004.pt"]  # no chunk done twice
    assert not list(cache_dir.rglob("parts-*"))  # the chunks are gone once the dataset is written
    clean = load_dataset(small_csv, cache_dir=cache_dir / "clean", workers=1, progress=False)
    assert resumed.ids == clean.ids and torch.equal(resumed._data.x, clean._data.x)


@pytest.mark.multiprocess
def test_parallel_build_equals_serial(data_dir, cache_dir):
    serial = load_dataset("cgcnn_sample", data_dir=data_dir, cache_dir=cache_dir / "a", workers=1, progress=False)
    parallel = load_dataset("cgcnn_sample", data_dir=data_dir, cache_dir=cache_dir / "b", workers=2, progress=False,
                            chunk_size=2)
    assert serial.ids == parallel.ids
    for key in ("edge_index", "edge_dist", "pbc_offset", "z", "y"):
        assert torch.equal(serial._data[key], parallel._data[key])


def test_crystal_dataset_with_options(data_dir, cache_dir):
    dataset = load_dataset("hmof100", data_dir=data_dir, cache_dir=cache_dir, workers=1, progress=False,
                           options={"pressures": [0.1, 2.5]})
    assert dataset.task == "multiregression" and dataset.targets == ["CO2_298K_0.1bar", "CO2_298K_2.5bar"]
    graph = dataset[0]
    assert graph.x.shape[1] == CrystalFeaturizer().num_atom_features and graph.edge_attr.shape[1] == 41
    assert "charge" not in graph
    meta = json.loads((cache_dir.glob("hmof100/*/meta.json").__next__()).read_text())
    assert meta["featurizer"]["cutoff"] == 8.0 and meta["featurizer"]["charges"] == "none"


def test_bad_option_and_missing_data_dir(data_dir, cache_dir, monkeypatch):
    with pytest.raises(DatasetSpecError, match="unknown option.*'pressure'.*valid"):
        load_dataset("hmof100", data_dir=data_dir, cache_dir=cache_dir, options={"pressure": 1})
    monkeypatch.delenv("MOLGNN_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="MOLGNN_DATA_DIR"):
        load_dataset("sider", cache_dir=cache_dir)


def test_summary_counts(data_dir, cache_dir):
    dataset = load_dataset("sider", data_dir=data_dir, cache_dir=cache_dir, workers=1, progress=False)
    summary = dataset.summary()
    assert summary["graphs"] + summary["rejected"] == 1427 and summary["targets"] == 27
    assert 0 < summary["positive_fraction"] < 1 and summary["missing_label_fraction"] == 0
    assert np.isclose(summary["mean_atoms"], float(dataset.slices["z"][-1]) / len(dataset), atol=0.01)


def test_duplicate_ids_in_a_cgcnn_folder_are_refused(tmp_path, data_dir, cache_dir):
    folder = tmp_path / "mofs"
    folder.mkdir()
    for name in ("1000041", "1000050"):
        (folder / f"{name}.cif").write_text((data_dir / "cgcnn-sample" / f"{name}.cif").read_text())
    (folder / "id_prop.csv").write_text("1000041,1.0\n1000050,2.0\n1000041,3.0\n")
    with pytest.raises(DatasetSpecError, match="'1000041' repeats"):
        load_dataset(folder, cache_dir=cache_dir, workers=1, progress=False)


def test_the_loader_decides_the_kind_and_a_featurizer_of_another_kind_is_refused(small_csv, data_dir, cache_dir):
    assert resolve_spec(small_csv).default_featurizer() == MoleculeFeaturizer()
    assert resolve_spec("crafted726", data_dir).default_featurizer() == CrystalFeaturizer(charges="cif")
    assert resolve_spec("hmof100", data_dir).default_featurizer() == CrystalFeaturizer(charges="none")
    with pytest.raises(ConfigError, match="holds molecules, but the featurizer CrystalFeaturizer takes crystals"):
        load_dataset(small_csv, cache_dir=cache_dir, featurizer=CrystalFeaturizer())


def test_infinite_labels_reject_their_records_and_keep_the_class_task(tmp_path, cache_dir):
    path = tmp_path / "t.csv"
    path.write_text("smiles,y\nCCO,1\nCC,0\nCCC,1\nC,inf\n")
    dataset = load_dataset(path, cache_dir=cache_dir, options={"targets": ["y"]}, workers=1, progress=False)
    assert len(dataset) == 3 and dataset.task == "binary" and dict(dataset.rejects) == {"3": "label inf in column 'y' is not finite"}
    in_memory = build.dataset_from_inputs(["CCO", "CC", "CCC", "C"], [1, 0, 1, -np.inf], MoleculeFeaturizer())
    assert in_memory.task == "binary" and in_memory.ids == ["0", "1", "2"] and in_memory.rejects[0][0] == "3"
