"""Several processes asking for the same dataset cache entry at once: one builds, the others wait and read."""

import pytest
import torch
from filelock import FileLock

from molgnn.data.build import DatasetBuildError, cache_key, load_dataset, resolve_spec
from tests.together import run_together


def summary(stdout: str) -> dict[str, str]:
    return dict(line.split(maxsplit=1) for line in stdout.splitlines())


@pytest.mark.multiprocess
@pytest.mark.slow
def test_two_processes_build_one_entry_and_read_the_same_graphs(tmp_path, data_dir):
    cache = tmp_path / "cache"
    command = ["featurize", "hmof100", "--data-dir", data_dir, "--cache-dir", cache, "--workers", "1"]
    first, second = run_together([command, command], tmp_path / "go")  # 4 chunks of 32 structures
    assert first.returncode == 0, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    assert first.stdout == second.stdout and summary(first.stdout)["graphs"] == "100"
    assert sum("waiting for it" in run.stderr for run in (first, second)) == 1  # one built, the other waited

    [entry] = [path for path in (cache / "hmof100").iterdir() if path.is_dir()]  # one entry, complete, no chunks left
    assert sorted(path.name for path in entry.iterdir()) == ["graphs.pt", "meta.json", "rejects.csv"]
    with FileLock(entry.with_name(f"{entry.name}.lock"), timeout=0):  # its lock was released
        pass
    cached = load_dataset("hmof100", data_dir, cache_dir=cache, progress=False)
    reference = load_dataset("hmof100", data_dir, cache_dir=tmp_path / "reference", workers=1, progress=False)
    assert cached.ids == reference.ids
    for key in ("z", "edge_index", "edge_dist", "pbc_offset", "y"):
        assert torch.equal(cached._data[key], reference._data[key]), key


def test_a_build_held_by_another_process_is_waited_for_and_given_up_on(tmp_path, data_dir, capsys):
    cache = tmp_path / "cache"
    spec = resolve_spec("cgcnn_sample", data_dir)
    entry = cache / spec.name / cache_key(spec, spec.default_featurizer())[:16]
    entry.parent.mkdir(parents=True)
    with FileLock(entry.with_name(f"{entry.name}.lock")):  # as a builder in another process holds it
        with pytest.raises(DatasetBuildError, match=f"waited 1 s for another process to build the cache entry {entry}"):
            load_dataset("cgcnn_sample", data_dir, cache_dir=cache, workers=1, wait=1)
    assert "another process is building the cache entry" in capsys.readouterr().err
    built = load_dataset("cgcnn_sample", data_dir, cache_dir=cache, workers=1, progress=False)
    rebuilt = load_dataset("cgcnn_sample", data_dir, cache_dir=cache, workers=1, progress=False, rebuild=True)
    assert rebuilt.meta["cache_dir"] == str(entry) and torch.equal(rebuilt._data.edge_index, built._data.edge_index)
    assert sorted(path.name for path in entry.iterdir()) == ["graphs.pt", "meta.json", "rejects.csv"]
