"""``molgnn screen``: the table, the summary and the top-k file from the command line."""

import json
import os

import pandas as pd
import pytest

from molgnn.cli import main


def test_screen_cli_writes_table_summary_and_top(tmp_path, capsys, molecule_runs, sider):
    library = tmp_path / "library.csv"
    sider[["smiles"]].iloc[500:560].to_csv(library, index=False)
    out = tmp_path / "hits.csv"
    args = [*map(str, molecule_runs), str(library), "--out", str(out), "--workers", "0", "--no-progress"]
    assert main(["screen", *args, "--top", "5", "--sort", "cardiac disorders", "--min-std", "0"]) == 0
    printed = capsys.readouterr().out
    assert "60 records: 60 ok, 0 rejected" in printed and "top 5 ->" in printed
    table = pd.read_csv(out)
    top = pd.read_csv(tmp_path / "hits.top5.csv")
    assert len(table) == 60 and top["rank"].tolist() == [1, 2, 3, 4, 5]
    assert top["Cardiac disorders"].tolist() == sorted(table["Cardiac disorders"], reverse=True)[:5]
    assert main(["screen", *args, "--json"]) == 0  # finished: the same summary, nothing screened again
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["records"] == 60 and summary["models"] == 2 and summary["status"] == {"ok": 60}


def test_screen_cli_reports_a_mismatch_as_an_error(tmp_path, capsys, crystal_run, sider):
    library = tmp_path / "library.csv"
    sider[["smiles"]].head(3).to_csv(library, index=False)
    assert main(["screen", str(crystal_run), str(library), "--out", str(tmp_path / "o.parquet"), "--no-progress"]) == 2
    assert "library of molecules but the model(s) take crystals" in capsys.readouterr().err


def test_the_threads_option_is_the_budget_of_the_screen_and_of_it_only(tmp_path, capsys, molecule_runs, sider, monkeypatch):
    monkeypatch.delenv("MOLGNN_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    library = tmp_path / "library.csv"
    sider[["smiles"]].iloc[:40].to_csv(library, index=False)
    args = [str(molecule_runs[0]), str(library), "--no-progress", "--json", "--chunk-size", "16"]
    assert main(["screen", *args, "--out", str(tmp_path / "one.csv"), "--threads", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["workers"] == 1 and summary["threads"] == 1 and summary["status"] == {"ok": 40}
    assert "MOLGNN_THREADS" not in os.environ
    assert main(["screen", *args, "--out", str(tmp_path / "in.csv"), "--threads", "2", "--workers", "0"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["workers"] == 0 and summary["threads"] == 2
    with pytest.raises(SystemExit) as refused:
        main(["screen", *args, "--out", str(tmp_path / "bad.csv"), "--threads", "0"])
    assert refused.value.code == 2 and "--threads: expected a whole number >= 1, got 0" in capsys.readouterr().err
