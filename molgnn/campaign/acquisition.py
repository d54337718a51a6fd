"""Acquisition: which candidates a campaign sends to the oracle next, from the surrogate's member predictions.

A surrogate predicts each candidate once per ensemble member (a molgnn ensemble's members, a
forest's trees): ``members`` is a ``(k, n)`` array for ``n`` candidates. The acquisitions score
candidates for a maximized objective (a minimized one is negated first, by ``select_batch``):

- ``greedy``: the mean over members, ``mu``;
- ``ucb``: upper confidence bound ``mu + beta * sigma`` (``sigma``: the members' standard deviation);
- ``ei``: expected improvement over the best value found so far ``f*``, for a normal predictive
  distribution: ``(mu - f* - xi) Phi(z) + sigma phi(z)``, ``z = (mu - f* - xi) / sigma``
  (Jones et al. 1998; ``max(mu - f* - xi, 0)`` where ``sigma`` is 0);
- ``thompson``: each pick of a batch takes the best candidate under one member drawn at random
  (Thompson sampling over the ensemble members);
- ``random``: the control, uniform scores.

A batch takes the best-scored candidates in order; with a diversity rule (``min_distance``), a
candidate closer than that (Euclidean, in the given feature space, e.g. standardized descriptors)
to a pick already in the batch is passed over.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr  # the normal CDF; scipy.stats would add half a second to every campaign's start

from molgnn.errors import ConfigError

ACQUISITIONS = ("greedy", "ucb", "ei", "thompson", "random")


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """Expected improvement over ``best`` of a normal ``N(mean, std^2)``, elementwise (maximization)."""
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    gain = mean - best - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, gain / np.where(std > 0, std, 1.0), 0.0)
    density = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return np.where(std > 0, gain * ndtr(z) + std * density, np.maximum(gain, 0.0))


def scores(acquisition: str, members: np.ndarray, best: float | None = None, beta: float = 2.0, xi: float = 0.0,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """One score per candidate (higher is better) of a non-sequential acquisition; ``members`` is ``(k, n)``."""
    members = _members(members)
    mean, std = members.mean(axis=0), members.std(axis=0)
    if acquisition == "greedy":
        return mean
    if acquisition == "ucb":
        return mean + float(beta) * std
    if acquisition == "ei":
        if best is None:
            raise ConfigError("acquisition 'ei' needs the best value found so far")
        return expected_improvement(mean, std, float(best), xi)
    if acquisition == "random":
        return _rng(rng).random(members.shape[1])
    if acquisition == "thompson":
        raise ConfigError("acquisition 'thompson' draws a member per pick: use select_batch")
    raise ConfigError(f"unknown acquisition {acquisition!r}; choose from {', '.join(ACQUISITIONS)}")


def select_batch(acquisition: str, members: np.ndarray, size: int, *, maximize: bool = True, best: float | None = None,
                 beta: float = 2.0, xi: float = 0.0, rng: np.random.Generator | None = None,
                 features: np.ndarray | None = None, min_distance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the next ``size`` candidates (fewer when the pool or the diversity rule runs out), and their
    acquisition scores, in the order picked."""
    members = _members(members)
    if not maximize:
        members = -members
        best = None if best is None else -best
    if size < 1:
        raise ConfigError(f"batch size must be >= 1, got {size}")
    if min_distance is not None and (features is None or len(features) != members.shape[1]):
        raise ConfigError("a diversity rule needs one feature row per candidate")
    rng = _rng(rng)
    if acquisition == "thompson":
        picks, drawn, taken = [], [], np.zeros(members.shape[1], dtype=bool)
        for draw in rng.integers(members.shape[0], size=size):
            order = np.argsort(-members[draw], kind="stable")
            pick = next((int(i) for i in order if not taken[i] and _far(int(i), picks, features, min_distance)), None)
            if pick is not None:
                picks.append(pick)
                drawn.append(int(draw))
                taken[pick] = True
        chosen = np.array(picks, dtype=int)
        return chosen, members[np.array(drawn, dtype=int), chosen]
    score = scores(acquisition, members, best, beta, xi, rng)
    picks = []
    for i in np.argsort(-score, kind="stable"):
        if len(picks) == size:
            break
        if _far(int(i), picks, features, min_distance):
            picks.append(int(i))
    chosen = np.array(picks, dtype=int)
    return chosen, score[chosen]


def _far(i: int, picks: list[int], features: np.ndarray | None, min_distance: float | None) -> bool:
    if min_distance is None or not picks:
        return True
    return bool(np.linalg.norm(features[picks] - features[i], axis=1).min() >= min_distance)


def _members(members: np.ndarray) -> np.ndarray:
    members = np.asarray(members, dtype=float)
    if members.ndim == 1:
        members = members[None, :]
    if members.ndim != 2 or not np.isfinite(members).all():
        raise ConfigError(f"member predictions must be a finite (members, candidates) array, got shape {members.shape}")
    return members


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()
