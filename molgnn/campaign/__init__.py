"""Steered campaigns: a surrogate chooses which candidates the costly simulation (the oracle) runs next.

``molgnn.campaign.acquisition`` turns the surrogate's member predictions into the next batch.
"""
