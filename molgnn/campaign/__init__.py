"""Steered campaigns: a surrogate chooses which candidates the costly simulation (the oracle) runs next.

``molgnn.campaign.acquisition`` turns the surrogate's member predictions into the next batch,
``molgnn.campaign.oracles`` runs the simulations, and ``molgnn.campaign.state`` keeps every pick and
result on disk so that a killed campaign goes on.
"""
