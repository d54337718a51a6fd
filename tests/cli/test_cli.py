import json
import subprocess
import sys

import pytest

from molgnn.cli import main


def test_datasets_lists_names_sizes_tasks_licences(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "kind", "task", "size", "targets", "licence"]
    assert any(line.split()[:4] == ["tox21", "molecules", "multilabel", "7831"] for line in out.splitlines())
    assert "CC BY-NC-SA" in out


def test_datasets_shows_one_card(capsys):
    assert main(["datasets", "crafted726"]) == 0
    out = capsys.readouterr().out
    assert "simulation_id" in out and "citation:" in out


def test_featurize_a_csv_reports_rejects(tmp_path, data_dir, capsys):
    lines = (data_dir / "molnet" / "sider.csv").read_text().splitlines()
    path = tmp_path / "mini.csv"
    path.write_text("\n".join(lines[:21] + ["C1CC" + lines[1][lines[1].index(",\""):] if ",\"" in lines[1]
                                             else "C1CC," + lines[1].split(",", 1)[1]]) + "\n")
    code = main(["featurize", str(path), "--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--json",
                 "--fingerprint-bits", "128"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["graphs"] == 20 and summary["rejected"] == 1 and summary["targets"] == 27
    assert main(["featurize", str(path), "--cache-dir", str(tmp_path / "cache"), "--strict"]) == 2
    assert "1 record(s) rejected" in capsys.readouterr().err


def test_featurize_registered_crystal_set_with_options(tmp_path, data_dir, capsys):
    code = main(["featurize", "hmof100", "--data-dir", str(data_dir), "--cache-dir", str(tmp_path),
                 "--option", "pressures=[0.5]", "--cutoff", "6", "--max-neighbors", "8", "--workers", "1", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["graphs"] == 100 and summary["targets"] == 1
    assert 0.95 * 8 * summary["mean_atoms"] < summary["mean_edges"] <= 8 * summary["mean_atoms"]  # <= 8 per atom


def test_descriptor_settings_from_the_command_line(tmp_path, data_dir, capsys):
    cif = data_dir / "crafted726" / "cif" / "DDEC" / "KEWZOD.cif"
    args = ["featurize", str(cif), "--descriptors", "energies", "--descriptor-setting", "energies.insertions=60",
            "--descriptor-setting", "energies.bin_width=5"]
    assert main(args) == 0 and "descriptors=[1, 19]" in capsys.readouterr().out  # 5 values and two histograms of 7 bins
    assert main(args[:-1] + ["insertions=60"]) == 2
    assert "--descriptor-setting needs SET.ARG=VALUE" in capsys.readouterr().err
    assert main(args[:-1] + ["energies.inserts=60"]) == 2
    assert "descriptor_settings of 'energies': unknown ['inserts']" in capsys.readouterr().err


def test_errors_are_one_clear_line(capsys, tmp_path):
    assert main(["featurize", "no-such-set", "--cache-dir", str(tmp_path)]) == 2
    assert "neither a registered dataset" in capsys.readouterr().err
    assert main(["featurize", "--smiles", "C1CC"]) == 2
    assert "C1CC: RDKit cannot parse" in capsys.readouterr().err


def test_console_script_runs_as_a_process(data_dir):
    result = subprocess.run([sys.executable, "-m", "molgnn", "featurize", str(data_dir / "cgcnn-sample" / "1000041.cif"),
                             "--charges", "none"], capture_output=True, text=True, check=True)
    assert "pbc_offset" in result.stdout and "x=[8, 100]" in result.stdout


@pytest.mark.parametrize("verb", ["datasets", "featurize"])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exited:
        main([verb, "--help"])
    assert exited.value.code == 0 and "usage: molgnn" in capsys.readouterr().out


def test_a_bug_keeps_its_traceback(monkeypatch):
    from molgnn.cli import datasets

    def broken_registry():
        return {}["card"]  # a KeyError that nobody raised on purpose

    monkeypatch.setattr(datasets, "list_cards", broken_registry)
    with pytest.raises(KeyError, match="card") as raised:
        main(["datasets"])
    assert raised.traceback[-1].name == "broken_registry"


def test_a_bug_in_a_process_prints_its_traceback_and_fails():
    script = ("import molgnn.cli.datasets as verb; verb.list_cards = lambda: {}['card']; "
              "from molgnn.cli import main; raise SystemExit(main(['datasets']))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "KeyError: 'card'"
