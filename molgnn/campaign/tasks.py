"""The tasks a campaign's Parsl executors run: one simulation, one surrogate training, one inference over the pool.

They take plain, picklable arguments and read what is large (the pool, the oracle's table) once per
worker process. A simulation worker imports no more than the oracles: the pool and the surrogates (torch)
are imported by the tasks that use them.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from molgnn.campaign.oracles import Outcome, call_oracle, oracle_from_config


def simulate(oracle: dict, candidate: str, source: str, seconds: float | None) -> Outcome:
    """The oracle's ``Outcome`` for one candidate (never raises for the candidate's sake)."""
    return call_oracle(cached_oracle(oracle), candidate, source, seconds)


def prepare(surrogate: dict, pool) -> int:
    """Read the pool (``PoolSpec``) into the learning worker and import what training ``surrogate`` needs, while the
    first batch is simulated; returns the pool's size."""
    from molgnn.campaign.pool import load_pool
    from molgnn.campaign.surrogate import import_surrogate

    import_surrogate(surrogate)
    return len(load_pool(pool).ids)


def train(surrogate: dict, pool, labelled: dict[str, float], folder: str, seed: int) -> str:
    """Train a surrogate version on the results ``labelled`` into ``folder`` (``molgnn.campaign.surrogate``); ``pool``:
    a ``PoolSpec``."""
    from molgnn.campaign.pool import load_pool
    from molgnn.campaign.surrogate import train_surrogate

    return str(train_surrogate(surrogate, load_pool(pool), labelled, folder, seed))


def infer(folder: str, pool) -> np.ndarray:
    """The pool predicted by every member of the surrogate in ``folder`` (``pool``: a ``PoolSpec``): ``(members,
    candidates)``."""
    from molgnn.campaign.pool import load_pool
    from molgnn.campaign.surrogate import surrogate_members

    return surrogate_members(folder, load_pool(pool))


def warm_oracle(oracle: dict) -> None:
    """Make the oracle of ``oracle`` in this worker and import what its simulations need (a worker's start-up)."""
    made = cached_oracle(oracle)
    if hasattr(made, "warm"):
        made.warm()


def cached_oracle(config: dict):
    """The oracle of ``config`` (``{"kind": ..., **options}``), made once per process."""
    return _oracle(json.dumps(config, sort_keys=True))


@lru_cache(maxsize=4)
def _oracle(config: str):
    return oracle_from_config(json.loads(config))
