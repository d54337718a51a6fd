"""Steered campaigns: a surrogate chooses which candidates the costly simulation (the oracle) runs next.

``run_campaign`` (``molgnn.campaign.engine``) runs one from a ``CampaignConfig``: the pool
(``pool``), the surrogate (``surrogate``) and the acquisition (``acquisition``) choose the next
batches, the oracles (``oracles``) run the simulations on Parsl through Colmena, and the state on
disk (``state``) and the report (``report``) keep every pick and result, so that a killed campaign
goes on where it stopped.
"""

from molgnn.campaign.config import CampaignConfig
from molgnn.campaign.engine import CampaignError, run_campaign

__all__ = ["CampaignConfig", "CampaignError", "run_campaign"]
