"""Hostile records and dying workers: every record becomes a row, and no record takes a screen down."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from molgnn.screen import screen
from molgnn.screen.engine import ScreenError, _Workers, predict

DENSE_ATOMS = 10  # per axis: 1000 carbon atoms 1 Å apart in a 10 Å cube, within every cheap bound


def _hostile_folder(folder: Path, crystal_files: list[Path]) -> Path:
    """Three real MOFs, a cell length of 0.01 Å, a file cut at a row boundary, and a dense cube of atoms."""
    folder.mkdir()
    for path in crystal_files[:3]:
        shutil.copy(path, folder / path.name)
    text = crystal_files[0].read_text()
    (folder / "tiny.cif").write_text(re.sub(r"_cell_length_a\s+\S+", "_cell_length_a 0.01", text))
    (folder / "cut.cif").write_text("".join(text.splitlines(keepends=True)[:30]))
    rows = [f"C {i / DENSE_ATOMS:.2f} {j / DENSE_ATOMS:.2f} {k / DENSE_ATOMS:.2f}"
            for i in range(DENSE_ATOMS) for j in range(DENSE_ATOMS) for k in range(DENSE_ATOMS)]
    (folder / "dense.cif").write_text("data_dense\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n"
                                      "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n"
                                      "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
                                      + "\n".join(rows) + "\n")
    return folder


@pytest.mark.multiprocess
def test_tiny_cell_is_a_reject_row_and_a_record_beyond_the_memory_budget_too(tmp_path, crystal_run, crystal_files):
    library = _hostile_folder(tmp_path / "hostile", crystal_files)
    table = screen(crystal_run, library, tmp_path / "all.csv", workers=1, progress=False).table()
    status = dict(zip(table["id"], table["status"]))
    assert len(table) == 6 and status["tiny"] == "invalid_structure" and status["cut"] == "invalid_structure"
    assert "0.01 Å" in table.set_index("id").loc["tiny", "reason"] and status["dense"] == "ok"
    # In a fresh process, as a user's screen starts: a worker forked from this long test session would inherit its
    # free heap, which it may reuse without growing its address space, so the budget would not see it.
    subprocess.run(_screen_command([crystal_run], library, tmp_path / "budget.csv", "--workers", "1",
                                   "--worker-memory-gb", str(30 / 1024)),  # the dense cube's search needs about 100 MB
                   check=True, capture_output=True, timeout=600)
    budgeted = pd.read_csv(tmp_path / "budget.csv", dtype={"id": str})
    status = dict(zip(budgeted["id"], budgeted["status"]))
    assert status["dense"] == "memory_budget" and [status[p.stem] for p in crystal_files[:3]] == ["ok"] * 3


@pytest.mark.multiprocess
def test_records_beyond_the_time_budget_are_reject_rows(tmp_path, crystal_run, crystal_files):
    folder = tmp_path / "three"
    folder.mkdir()
    for path in crystal_files[:3]:
        shutil.copy(path, folder / path.name)
    table = screen(crystal_run, folder, tmp_path / "slow.csv", workers=1, progress=False, record_seconds=1e-4).table()
    assert table["status"].tolist() == ["time_budget"] * 3 and "0.0001 s" in table["reason"][0]


@pytest.mark.multiprocess
@pytest.mark.parametrize("predicting", [True, False], ids=["inference in workers", "inference in main"])
def test_a_worker_killed_mid_chunk_is_replaced_and_its_chunk_featurized_again(crystal_run, crystal_files, tmp_path,
                                                                              predicting):
    from molgnn.screen.ensemble import load_ensemble

    library = _hostile_folder(tmp_path / "hostile", crystal_files)
    workers = _Workers(1, None, None, load_ensemble([crystal_run]), 8, predicting)
    older = {child.pid for child in psutil.Process().children(recursive=True)}  # e.g. multiprocessing's resource tracker
    try:
        payloads = [library / "dense.cif"] * 4  # about a second of work
        future, generation = workers.submit(payloads)
        worker = _wait_for_children(os.getpid(), 1, ignore=older)[0]
        worker.kill()  # as the kernel's out-of-memory killer would
        result = workers.result(future, generation, payloads)
        assert result.status == ["ok"] * 4 and result.kept == [0, 1, 2, 3] and workers.generation == 1
        assert not worker.is_running()
        if predicting:  # the predictions of the kept records came back, not their graphs
            assert result.values.shape == (4, 1) and np.isfinite(result.values).all() and not result.batches
        else:
            assert len(result.batches) == 1 and result.values is None
    finally:
        workers.close()


def test_records_of_another_kind_are_refused_before_any_work(crystal_run, molecule_runs, crystal_files):
    with pytest.raises(ScreenError, match="records are crystals .* but the model\\(s\\) take molecules"):
        predict(molecule_runs[0], crystal_files[:2])
    mixed = predict(molecule_runs[0], ["CCO", crystal_files[0]])
    assert mixed["status"].tolist() == ["ok", "invalid_smiles"]  # one odd record among SMILES is a row


def _screen_command(runs, library, out, *extra):
    return [sys.executable, "-m", "molgnn", "screen", *map(str, runs), str(library), "--out", str(out), "--no-progress", *extra]


def _wait_for_children(pid: int, count: int, timeout: float = 120, ignore: set[int] = frozenset()) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [child for child in psutil.Process(pid).children(recursive=True) if child.pid not in ignore]
        if len(children) >= count:
            return children
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not start {count} worker(s) in {timeout} s")


def _wait_for_parts(parts: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not list(parts.glob("part-*.parquet")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no chunk written"
        time.sleep(0.05)


@pytest.fixture
def long_library(tmp_path, sider):
    path = tmp_path / "long.csv"
    sider[["smiles"]].head(1400).to_csv(path, index=False)  # long enough that a signal lands mid-screen
    return path


@pytest.mark.slow
@pytest.mark.multiprocess
def test_workers_exit_when_the_screen_is_killed(tmp_path, molecule_runs, long_library):
    out = tmp_path / "killed.parquet"
    process = subprocess.Popen(_screen_command(molecule_runs[:1], long_library, out, "--chunk-size", "8", "--workers", "2"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = []
    try:
        workers = _wait_for_children(process.pid, 2)
        _wait_for_parts(tmp_path / "killed.parquet.parts", process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"orphaned workers: {[p.pid for p in alive]}"
    finally:
        if process.poll() is None:
            process.kill()
        for leftover in workers:  # none left behind when the test fails
            if leftover.is_running():
                leftover.kill()


@pytest.mark.slow
@pytest.mark.multiprocess
def test_ctrl_c_ends_with_one_line_that_says_how_to_resume(tmp_path, molecule_runs, long_library):
    out = tmp_path / "stopped.parquet"
    command = _screen_command(molecule_runs[:1], long_library, out, "--chunk-size", "8", "--workers", "1")
    # as from a shell, whose Ctrl-C is not ignored (a test runner's own SIGINT disposition would be inherited)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for_parts(tmp_path / "stopped.parquet.parts", process)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, (stderr, signal.getsignal(signal.SIGINT))
    assert stderr.strip().splitlines()[-1] == (f"molgnn screen: interrupted; rerun the same command to resume from the "
                                               f"finished chunks in {out}.parts")
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0 and "1400 records" in finished.stdout
