import json

import pytest

from molgnn.campaign.oracles import Outcome
from molgnn.campaign.state import LOG, CampaignState, CampaignStateError

CONFIG = {"oracle": "lookup", "batch": 2}


def test_a_killed_campaign_reads_back_its_picks_results_and_pending_calls(tmp_path):
    state = CampaignState(tmp_path, CONFIG)
    for candidate, score in (("a", 1.5), ("b", 0.5)):
        state.record_pick(candidate, 0, score, surrogate=0)
    state.record_result(Outcome("a", "ok", 2.0, "", 1.0))
    state.record_pick("c", 1, None, surrogate=1)
    state.record_result(Outcome("c", "failed", None, "OracleError: no convergence", 0.1))
    with open(tmp_path / LOG, "a") as log:
        log.write('{"event": "result", "candid')  # the kill landed mid-line
    again = CampaignState(tmp_path, CONFIG)
    assert [p["candidate"] for p in again.picks] == ["a", "b", "c"] and again.batches == 2
    assert again.pending == ["b"] and again.labelled() == {"a": 2.0} and again.queried == {"a", "b", "c"}
    assert again.results["c"]["reason"] == "OracleError: no convergence"
    again.record_result(Outcome("b", "ok", 1.0, "", 1.0))  # the log goes on after the torn line
    lines = (tmp_path / LOG).read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 6
    assert CampaignState(tmp_path, CONFIG).pending == []


def test_another_config_a_repeated_pick_and_a_broken_log_are_refused(tmp_path):
    state = CampaignState(tmp_path, CONFIG)
    state.record_pick("a", 0, 1.0, 0)
    with pytest.raises(CampaignStateError, match="picked before"):
        state.record_pick("a", 1, 1.0, 0)
    with pytest.raises(CampaignStateError, match="another config"):
        CampaignState(tmp_path, {**CONFIG, "batch": 3})
    (tmp_path / LOG).write_text('not json\n{"event": "pick", "candidate": "a", "batch": 0}\n')
    with pytest.raises(CampaignStateError, match="line 1: not a JSON object"):
        CampaignState(tmp_path, CONFIG)
