import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from molgnn.campaign.oracles import call_oracle, make_oracle
from molgnn.errors import ConfigError


def test_lookup_replays_a_table_and_an_unknown_candidate_is_a_failure_with_its_reason(tmp_path, data_dir):
    frame = pd.read_csv(data_dir / "hmof100" / "co2_0.1bar.csv", header=None, names=["id", "co2"])
    table = tmp_path / "done.csv"
    frame.to_csv(table, index=False)
    oracle = make_oracle("lookup", table=str(table), column="co2")
    outcome = call_oracle(oracle, frame["id"][1], "ignored.cif")
    assert outcome.status == "ok" and outcome.value == pytest.approx(frame["co2"][1]) and outcome.reason == ""
    missing = call_oracle(oracle, "hMOF-none", "x.cif")
    assert missing.status == "failed" and missing.value is None and "'hMOF-none' is not in the lookup table" in missing.reason
    with pytest.raises(ConfigError, match="no column 'uptake'"):
        make_oracle("lookup", table=str(table), column="uptake")


def test_henry_is_a_real_widom_simulation_on_the_cif_charges(data_dir):
    cif = data_dir / "crafted726" / "cif" / "DDEC" / "ACUBAB.cif"
    oracle = make_oracle("henry", insertions=600)
    first = call_oracle(oracle, "ACUBAB", str(cif))
    # log10 mol/(kg Pa): about 1e-5, i.e. 1 mmol/g per bar, as for CO2 in a MOF at 298 K
    assert first.status == "ok" and -5.5 < first.value < -4.3
    assert call_oracle(oracle, "ACUBAB", str(cif)).value == first.value  # seeded
    broken = call_oracle(oracle, "nothing", str(data_dir / "missing.cif"))
    assert broken.status == "failed" and "missing.cif" in broken.reason


def value_of_length(source, candidate):
    if candidate == "bad":
        raise ValueError("no convergence")
    return float(len(source))


def test_a_user_function_and_its_failures(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    oracle = make_oracle("function", function="test_oracles:value_of_length")
    assert call_oracle(oracle, "a", "CCO").value == 3.0
    failed = call_oracle(oracle, "bad", "CCO")
    assert failed.status == "failed" and failed.reason == "ValueError: no convergence"
    with pytest.raises(ConfigError, match="expected 'module:function'"):
        make_oracle("function", function="nothing")
    with pytest.raises(ConfigError, match="no_such_module"):
        make_oracle("function", function="no_such_module:f")


def test_a_command_template_its_failures_and_its_time_budget(tmp_path):
    script = tmp_path / "sim.py"
    script.write_text("import sys, time\n"
                      "name = sys.argv[2]\n"
                      "if name == 'crash': sys.exit('out of memory')\n"
                      "if name == 'slow': time.sleep(30)\n"
                      "print('log line'); print('nan' if name == 'nan' else 'word' if name == 'word' else len(sys.argv[1]))\n")
    oracle = make_oracle("command", template=f"{sys.executable} {script} {{source}} {{id}}", seconds=2)
    assert call_oracle(oracle, "ok", "with space.cif").value == len("with space.cif")  # quoted, one argument
    crash = call_oracle(oracle, "crash", "a.cif")
    assert crash.status == "failed" and "exited with 1: out of memory" in crash.reason
    slow = call_oracle(oracle, "slow", "a.cif")
    assert slow.status == "timeout" and "more than 2 s" in slow.reason and slow.seconds < 10
    word = call_oracle(oracle, "word", "a.cif")
    assert word.status == "failed" and "no number: 'word'" in word.reason
    nan = call_oracle(oracle, "nan", "a.cif")
    assert nan.status == "failed" and "returned nan" in nan.reason
    with pytest.raises(ConfigError, match="fields are"):
        make_oracle("command", template="sim {cif}")


def slow(source, candidate):
    time.sleep(5)
    return 1.0


def test_a_slow_function_is_cut_at_its_budget():
    outcome = call_oracle(slow, "x", "s.cif", seconds=0.5)
    assert outcome.status == "timeout" and outcome.value is None and outcome.seconds < 2


def test_unknown_oracles_and_options_are_config_errors():
    with pytest.raises(ConfigError, match="unknown oracle 'gcmc'"):
        make_oracle("gcmc")
    with pytest.raises(ConfigError, match="oracle 'henry'"):
        make_oracle("henry", pressure=1)
