"""The benchmarks' quick modes run end to end and end with one JSON object."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_quick(script: str, *args, timeout: float = 900) -> dict:
    """``python benchmarks/SCRIPT --quick ARGS``: must succeed; its last line, parsed as JSON."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", *map(str, args)],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["quick"] is True
    return summary


@pytest.mark.slow
def test_featurize_benchmark_quick(data_dir):
    summary = run_quick("featurize.py", "--repeats", "1", "--data-dir", data_dir, timeout=600)
    assert summary["neighbour_check"]["ok"]
    for key in ("molgnn_vs_from_smiles", "molgnn_fraction_of_parse_rate", "crystal_speedup_vs_cgcnn"):
        assert summary[key] > 0
    ms = summary["tox21_ms_per_mol"]  # the read floor parses as molgnn does: the same rejects
    assert ms["rdkit_read_floor"] > 0 and summary["tox21_failures"]["rdkit_read_floor"] == summary["tox21_failures"]["molgnn_batch"]
    described = summary["tox21_descriptors"]
    assert described["descriptors"] > 150 and (described["speedup"] > 0 or described["chemprop"] != "ok")


@pytest.mark.slow
def test_drug_effects_benchmark_quick(data_dir, tmp_path):
    summary = run_quick("drug_effects.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work", "--out", tmp_path / "out")
    assert set(summary["goals"]) == {"sider", "tox21"}
    molgnn_runs, baselines = 2 * 4, 2 * 2  # data sets x oversampling settings, x (mean, forest); one split and seed
    chemprops = 2 * 2 if summary["chemprop"] == "ok" else 0  # chemprop with, without descriptors
    blends = 2 * 2  # per data set, the no-oversampling run blended with a forest, and that forest alone
    assert summary["runs"] == molgnn_runs + baselines + blends + chemprops
    assert summary["reused_runs"] == {"molgnn": 0, "chemprop": 0, "baselines": 0, "blends": 0}  # a new work folder
    for goals in summary["goals"].values():
        assert 0 <= goals["roc_auc_stratified"] <= 1 and goals["rare_f1_wins"].keys() == {"none", "ml-ros", "mlsmote"}
        assert 0.5 < goals["forest_roc_auc_stratified"] <= 1 and isinstance(goals["ahead_of_forest"], bool)
        blend, alone = goals["blend_roc_auc_stratified"], goals["blend_forest_alone_roc_auc_stratified"]
        assert 0 <= blend <= 1 and 0 <= alone <= 1  # 30-40 test molecules and a 2-epoch network: any value
        assert goals["blend_ahead_of_its_forest"] == (blend > alone)
        assert goals["best_molgnn_roc_auc"] == max(goals["roc_auc_stratified"], goals["blend_roc_auc_stratified"])
    report = (tmp_path / "out" / "drug_effects.md").read_text()
    assert report.count("| hybrid_descriptors | cooccurrence | 1 |") == 2 and "paired rare-label macro-F1" in report
    assert report.count("| forest | none | 1 |") == 2 and report.count("| extra trees | none | 1 |") == 2
    assert report.count("| mean | none | 1 | 0.500 ± 0.000") == 2
    saved = json.loads((tmp_path / "out" / "drug_effects.json").read_text())
    assert set(saved["rare_labels"]["tox21"]) <= set(saved["per_label_f1"]["tox21"]) and len(saved["rare_labels"]["tox21"]) == 4
    again = run_quick("drug_effects.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work", "--out", tmp_path / "again",
                      "--report-only")  # every run found finished: reported, not repeated
    assert again["runs"] == summary["runs"] and again["goals"] == summary["goals"]
    assert again["reused_runs"] == {"molgnn": molgnn_runs, "chemprop": chemprops, "baselines": 2, "blends": 2}


@pytest.mark.slow
def test_co2_benchmark_quick(data_dir, tmp_path):
    # one contender per code path: graph only, hybrid, each charge view, the descriptor MLP and the forest blend
    contenders = ["combined", "charge_descriptors", "charge_descriptors_molgnn_eqeq_charges",
                  "charge_descriptors_molgnn_learned_charges", "cgcnn_descriptors_no_charges", "descriptor_mlp",
                  "combined_descriptors_forest"]
    summary = run_quick("co2.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work", "--out", tmp_path / "out",
                        "--contenders", *contenders, timeout=1500)
    assert summary["charges"]["pearson_r_vs_eqeq_cif"] > 0.9
    assert summary["charges"]["max_abs_total_charge"] < 1e-6
    learned = summary["charges"]["learned"]
    assert learned["structures"] == 60 and learned["refused"] == []
    assert learned["vs_ddec"]["learned"]["mae"] < learned["vs_ddec"]["eqeq"]["mae"]
    agreement = summary["descriptors"]["molgnn_vs_table"]["pearson_r"]
    assert set(agreement) == {"density", "lcd", "pld", "asa_gravimetric", "asa_volumetric", "av_fraction", "av_volume"}
    assert agreement["density"] > 0.999 and agreement["lcd"] > 0.95
    assert summary["descriptors"]["pyzeo"]["median_seconds"] > 0
    assert set(summary["timing"]["median_ms"]) == {"parse", "graph", "eqeq", "pores", "energies"}
    results = summary["crafted726"]["results"]
    assert len(results) == len(contenders) + 6 and summary["crafted726"]["insertions"] == 600
    assert all(r["folds"] == 2 and len(r["CO2_298K_1bar"]["mae"]) == 2 for r in results.values())
    goals = summary["goals"]
    assert {"best_model", "graph_adds_value", "charges_matter", "descriptor_agreement_r_ge_0.95"} <= set(goals)
    assert set(goals["charges_matter"]["charge_hybrid"]["learned_share_of_gain"]) == set(summary["crafted726"]["targets"])
    forest_gain = goals["graph_adds_value"]["forest_improvement_with_graph_summary"]
    assert set(forest_gain) == set(summary["crafted726"]["targets"]) and all(-1 < g < 1 for g in forest_gain.values())
    hmof = summary["hmof100"]
    assert len(hmof["test"]) == 5 and hmof["graphs"] + len(hmof["rejects"]) == 30
    assert all("charge equilibration" in reason for _, reason in hmof["rejects"])
    assert (tmp_path / "out" / "co2.md").exists() and len(list((tmp_path / "out").glob("parity_*.png"))) == len(contenders) + 6


@pytest.mark.slow
@pytest.mark.multiprocess
def test_distributed_benchmark_quick(data_dir, tmp_path):
    summary = run_quick("distributed.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work",
                        "--out", tmp_path / "distributed.md")
    assert set(summary["goals"]) == {"crafted726", "sider"}
    for figures in summary["figures"].values():
        assert figures["ddp"]["allreduce_bytes_per_epoch"] > figures["kavg16"]["allreduce_bytes_per_epoch"] > 0
        assert [figures[mode]["learners"] for mode in ("one", "ddp", "hier")] == [1, 2, 4]
    assert summary["ring_model"]["bandwidth_bytes_per_s"] > 0
    assert "P=1024" in (tmp_path / "distributed.md").read_text()


@pytest.mark.slow
@pytest.mark.multiprocess
def test_screen_benchmark_quick(data_dir, tmp_path):
    summary = run_quick("screen.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work", timeout=1200)
    assert set(summary["goals"]) == {"speedup_vs_chemprop_ge_3", "rss_ratio_le_1.2", "crystals_ge_100_per_s",
                                     "model_median_le_8_ms"}
    assert len(summary["commit"]) == 40
    molecules, crystals = summary["molecules"], summary["crystals"]
    assert molecules["records"] == 4000 - molecules["unparsable_left_out"] and molecules["molgnn"]["status"]["ok"] > 0
    assert molecules["speedup"] > 0 and molecules["memory"]["rss_ratio"] > 0
    assert crystals["records"] == 60 and crystals["structures_per_s"] > 0
    profile = crystals["profile"]
    assert set(profile["ms_per_structure"]) == {"parse", "neighbours", "graph_rest", "charges_eqeq", "model"}
    assert profile["model_median_ms"] > 0 and profile["model_mflop_per_structure"] > 1  # CGCNN: tens of MFLOP
    assert 0 < profile["model_gflop_per_s"] and sum(profile["model_top_operators_share"].values()) <= 1


@pytest.mark.slow
@pytest.mark.multiprocess
def test_soak_benchmark_quick(data_dir, tmp_path):
    summary = run_quick("soak.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work")
    assert summary["ok"] and summary["records"] == 3_064
    for part in ("smiles", "cifs"):
        result = summary[part]
        assert result["rows"] == result["records"] and result["killed"]["orphans"] == 0 and result["duplicates"] == 0
        assert 0 < result["resumed_records"] < result["records"]  # killed in the middle, resumed from there
    assert summary["cifs"]["status"]["invalid_structure"] > 0 and summary["smiles"]["status"]["invalid_smiles"] > 0


@pytest.mark.slow
@pytest.mark.multiprocess
def test_campaign_benchmark_quick(data_dir, tmp_path):
    summary = run_quick("campaign.py", "--data-dir", data_dir, "--work-dir", tmp_path / "work", "--out", tmp_path / "out")
    assert summary["campaigns"] == 5 and summary["pool"] > 60
    found = summary["found_fraction"]
    assert set(found) == {"random", "forest-ucb", "gnn-ucb"}
    assert all(0 <= found[c]["40"]["mean"] <= 1 for c in found) and found["random"]["ratio_to_random"]["40"] == 1.0
    for run in ("henry", "henry_short"):
        assert summary[run]["calls"] == 12 and 0 < summary[run]["oracle_busy_fraction"] <= 1
    assert {"ratio_ge_3.5", "gnn_ge_forest", "oracle_busy_ge_0.9"} <= set(summary["goals"])
    assert (tmp_path / "out" / "campaign.md").exists() and (tmp_path / "out" / "discovery.png").stat().st_size > 0
