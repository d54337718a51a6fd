import pandas as pd
import pytest

from molgnn.campaign.config import CampaignConfig
from molgnn.campaign.oracles import Outcome
from molgnn.campaign.report import history, top_set
from molgnn.campaign.state import CampaignState


def test_top_set_is_the_best_fraction_rounded_up():
    values = {"a": 1.0, "b": 5.0, "c": 3.0, "d": 4.0}
    assert top_set(values, 0.25, maximize=True) == {"b"}
    assert top_set(values, 0.3, maximize=True) == {"b", "d"}
    assert top_set(values, 0.25, maximize=False) == {"a"}


def test_history_counts_the_top_set_found_and_the_best_so_far_call_by_call(tmp_path):
    config = CampaignConfig.from_dict({"pool": "p", "oracle": {"kind": "function", "function": "math:sqrt"},
                                       "top_fraction": 0.4, "initial": 2})
    state = CampaignState(tmp_path, config.to_dict())
    state.record_picks([("a", None), ("b", None)], 0, None)
    state.record_picks([("e", 0.9), ("c", 0.5)], 1, 1)
    for candidate, value in (("a", 1.0), ("b", 2.0), ("e", 5.0)):
        state.record_result(Outcome(candidate, "ok", value, "", 0.1))
    state.record_result(Outcome("c", "failed", None, "no convergence", 0.1))
    truth = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}  # top 40 %: d and e
    table = history(config, state, {}, truth)
    assert table["best_so_far"].tolist() == [1.0, 2.0, 5.0, 5.0]
    assert table["top_found"].tolist() == [0, 0, 1, 1] and table["top_fraction_found"].iloc[-1] == pytest.approx(0.5)
    assert table["surrogate"].tolist()[2:] == [1, 1] and table.loc[3, "reason"] == "no convergence"
    resumed = CampaignState(tmp_path, config.to_dict())  # read back from the log
    pd.testing.assert_frame_equal(history(config, resumed, {}, truth), table)
