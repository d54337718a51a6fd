import json

import pytest

from molgnn.campaign.config import CampaignConfig
from molgnn.campaign.surrogate import check_surrogate
from molgnn.errors import ConfigError

BASE = {"pool": "crafted726", "oracle": {"kind": "lookup", "table": "done.csv", "column": "co2"}}


def test_unknown_keys_and_bad_values_are_refused_with_their_names():
    with pytest.raises(ConfigError, match=r"unknown campaign config key\(s\) \['bugdet'\]"):
        CampaignConfig.from_dict({**BASE, "bugdet": 10})
    with pytest.raises(ConfigError, match=r"needs \['oracle'\]"):
        CampaignConfig.from_dict({"pool": "crafted726"})
    for key, value, message in (("acquisition", "best", "unknown acquisition 'best'"), ("objective", "max", "objective"),
                                ("batch_size", 0, "batch_size must be a whole number >= 1"),
                                ("initial", 200, "between 1 and the budget"), ("oracle", {"kind": "gcmc"}, "oracle must be"),
                                ("surrogate", {"kind": "svm"}, "surrogate must be"), ("min_distance", -1, "positive"),
                                ("top_fraction", 1.5, "top_fraction")):
        with pytest.raises(ConfigError, match=message):
            CampaignConfig.from_dict({**BASE, key: value})
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['depth'\]"):
        check_surrogate({"kind": "forest", "depth": 3})
    with pytest.raises(ConfigError, match="unknown training config key"):
        check_surrogate({"kind": "ensemble", "model": "cgcnn_descriptors", "config": {"epoch": 3}})
    with pytest.raises(ConfigError, match="at least 2 members"):
        check_surrogate({"kind": "ensemble", "model": "cgcnn_descriptors", "members": 1})


def test_a_config_file_reads_its_paths_from_its_own_folder(tmp_path):
    (tmp_path / "done.csv").write_text("id,co2\na,1\n")
    (tmp_path / "start.csv").write_text("id,value\na,1\n")
    path = tmp_path / "campaign.toml"
    path.write_text('pool = "crafted726"\ninitial = "start.csv"\nbudget = 20\n'
                    'oracle = { kind = "lookup", table = "done.csv", column = "co2" }\n')
    config = CampaignConfig.from_file(path)
    assert config.oracle["table"] == str(tmp_path / "done.csv") and config.initial == str(tmp_path / "start.csv")
    assert config.pool == "crafted726" and config.budget == 20 and config.acquisition == "ucb"
    assert CampaignConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="broken.json"):
        CampaignConfig.from_file(tmp_path / "broken.json")
