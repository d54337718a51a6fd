"""Steered campaigns: a surrogate chooses which candidates the costly simulation (the oracle) runs next.

``run_campaign`` (``molgnn.campaign.engine``) runs one from a ``CampaignConfig``: the pool
(``pool``), the surrogate (``surrogate``) and the acquisition (``acquisition``) choose the next
batches, the oracles (``oracles``) run the simulations on Parsl through Colmena, and the state on
disk (``state``) and the report (``report``) keep every pick and result, so that a killed campaign
goes on where it stopped.
"""

import importlib

__all__ = ["CampaignConfig", "CampaignError", "run_campaign"]
_HOMES = {"CampaignConfig": "molgnn.campaign.config", "CampaignError": "molgnn.campaign.engine",
          "run_campaign": "molgnn.campaign.engine"}


def __getattr__(name: str):
    # imported on first use: a simulation worker imports ``molgnn.campaign.tasks`` and the oracles only, in 0.4 s
    # rather than the 4 s of the engine, the pool and torch, which it spends before its first simulation
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
