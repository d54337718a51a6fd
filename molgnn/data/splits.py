"""Train / validation / test splits: random, scaffold, and multilabel-stratified.

A split is a set of positions into a dataset. It is saved with a checkpoint by record id (not by
position), so that it can be restored against a dataset rebuilt in another order:
``Split.to_dict(ids)`` and ``Split.from_dict(d, ids)``. Every function is deterministic for a
seed, and every set whose fraction is positive is non-empty when there are at least three records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from molgnn.chem.errors import InvalidSmilesError
from molgnn.chem.scaffold import murcko_scaffold
from molgnn.errors import ConfigError, DataError
from molgnn.tasks import check_class_labels

SET_NAMES = ("train", "val", "test")
SPLIT_METHODS = ("random", "scaffold", "stratified")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass
class Split:
    """Positions of the train, validation and test records, and how they were chosen.

    The three sets are disjoint and together cover positions ``0 .. n-1`` exactly; this is checked
    on construction so that a split restored from a file cannot silently leak or drop records.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    seed: int
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        for name in SET_NAMES:
            positions = np.asarray(getattr(self, name))
            if positions.ndim != 1 or (positions.size and not np.issubdtype(positions.dtype, np.integer)):
                raise DataError(f"split set {name!r} must be a 1-D array of integer positions")
            setattr(self, name, positions.astype(np.int64))
        self.fractions = _check_fractions(self.fractions)
        self.seed = int(self.seed)
        everything = np.concatenate([self.train, self.val, self.test])
        if everything.size and everything.min() < 0:
            raise DataError(f"split positions must be >= 0, got {everything.min()}")
        counts = np.bincount(everything, minlength=everything.size)
        if (counts > 1).any():
            raise DataError(f"split sets overlap or repeat positions: {_preview(np.flatnonzero(counts > 1).tolist())}")
        if (counts[: everything.size] == 0).any():
            missing = np.flatnonzero(counts[: everything.size] == 0).tolist()
            raise DataError(f"split does not cover positions 0..{everything.size - 1}: missing {_preview(missing)}")

    @property
    def n(self) -> int:
        """Number of records the split covers."""
        return len(self.train) + len(self.val) + len(self.test)

    def to_dict(self, ids: Sequence) -> dict:
        """A JSON-ready description naming records by id (as strings), in the order of each set."""
        if len(ids) != self.n:
            raise DataError(f"{len(ids)} ids given for a split of {self.n} records")
        names = [str(i) for i in ids]
        sets = {name: [names[i] for i in getattr(self, name)] for name in SET_NAMES}
        return {"method": self.method, "seed": self.seed, "fractions": list(self.fractions), **sets}

    @classmethod
    def from_dict(cls, description: Mapping, ids: Sequence) -> Split:
        """Restore a split written by ``to_dict`` against the dataset whose record ids are ``ids``.

        Raises:
            DataError: naming the ids when the split names ids the dataset does not have, names an
                id twice, or leaves some of the dataset's ids out; or when a key is missing.
        """
        missing_keys = [key for key in ("method", "seed", "fractions", *SET_NAMES) if key not in description]
        if missing_keys:
            raise DataError(f"split description lacks {', '.join(missing_keys)}")
        position_of = {str(i): k for k, i in enumerate(ids)}
        if len(position_of) != len(ids):
            repeated = [i for i, count in Counter(map(str, ids)).items() if count > 1]
            raise DataError(f"dataset ids are not unique, cannot restore a split: {_preview(repeated)}")
        split_ids = [str(i) for name in SET_NAMES for i in description[name]]
        unknown = [i for i in split_ids if i not in position_of]
        if unknown:
            raise DataError(f"{len(unknown)} ids of the split are not in the dataset: {_preview(unknown)}")
        repeated = [i for i, count in Counter(split_ids).items() if count > 1]
        if repeated:
            raise DataError(f"ids appear more than once in the split: {_preview(repeated)}")
        left_out = sorted(set(position_of) - set(split_ids), key=position_of.__getitem__)
        if left_out:
            raise DataError(f"{len(left_out)} dataset ids are in no split set: {_preview(left_out)}")
        sets = {name: np.array([position_of[str(i)] for i in description[name]], dtype=np.int64) for name in SET_NAMES}
        return cls(**sets, method=str(description["method"]), seed=int(description["seed"]),
                   fractions=tuple(description["fractions"]))


def make_split(method: str, n: int, *, smiles: Sequence[str] | None = None, y: np.ndarray | None = None,
               fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> Split:
    """Split ``n`` records by ``method``: ``"random"``, ``"scaffold"`` (needs ``smiles``) or
    ``"stratified"`` (needs ``y``)."""
    if method == "random":
        return random_split(n, fractions, seed)
    if method == "scaffold":
        if smiles is None:
            raise ConfigError("a scaffold split needs the SMILES of the records (smiles=...)")
        _check_length("smiles", len(smiles), n)
        return scaffold_split(list(smiles), fractions, seed)
    if method == "stratified":
        if y is None:
            raise ConfigError("a stratified split needs the labels of the records (y=...)")
        _check_length("y", len(y), n)
        return multilabel_stratified_split(y, fractions, seed)
    raise ConfigError(f"unknown split method {method!r}; choose one of {', '.join(SPLIT_METHODS)}")


def random_split(n: int, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> Split:
    """A uniformly random split with set sizes within one record of ``fractions * n``."""
    fractions = _check_fractions(fractions)
    sizes = _set_sizes(n, fractions)
    order = np.random.default_rng(seed).permutation(n)
    train, val, test = np.split(order, np.cumsum(sizes)[:2])
    return Split(np.sort(train), np.sort(val), np.sort(test), "random", seed, fractions)


def scaffold_split(smiles: Sequence[str], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0,
                   balanced: bool = True) -> Split:
    """Split so that no Bemis–Murcko scaffold is in two sets (chemprop's scaffold split).

    Whole scaffold groups are placed into train until it is full, then into validation, and the
    rest into test, so sizes follow ``fractions`` only approximately. ``balanced`` (chemprop's
    ``scaffold_balanced``) places the groups larger than half the validation or test size first,
    in random order, then the others in random order, which keeps big groups out of the small
    sets without always putting the same groups there; otherwise groups go largest first and the
    seed has no effect. A SMILES that does not parse forms a group of its own.

    Raises:
        DataError: when there are at least three records but fewer scaffold groups than sets
            to fill (e.g. all molecules acyclic): no scaffold split exists.
    """
    fractions = _check_fractions(fractions)
    n = len(smiles)
    sizes = _set_sizes(n, fractions)
    groups = _scaffold_groups(smiles)
    if balanced:
        rng = np.random.default_rng(seed)
        big = [g for g in groups if len(g) > sizes[1] / 2 or len(g) > sizes[2] / 2]
        small = [g for g in groups if not (len(g) > sizes[1] / 2 or len(g) > sizes[2] / 2)]
        ordered = [big[i] for i in rng.permutation(len(big))] + [small[i] for i in rng.permutation(len(small))]
    else:
        ordered = sorted(groups, key=len, reverse=True)
    placed: list[list[list[int]]] = [[], [], []]
    filled = [0, 0, 0]
    for group in ordered:
        target = 0 if filled[0] + len(group) <= sizes[0] else 1 if filled[1] + len(group) <= sizes[1] else 2
        placed[target].append(group)
        filled[target] += len(group)
    _fill_empty_sets(placed, fractions, n, len(groups))
    train, val, test = (np.sort(np.array([i for g in gs for i in g], dtype=np.int64)) for gs in placed)
    return Split(train, val, test, "scaffold", seed, fractions)


def _scaffold_groups(smiles: Sequence[str]) -> list[list[int]]:
    """Positions grouped by scaffold, in order of first appearance."""
    groups: dict[object, list[int]] = {}
    for position, text in enumerate(smiles):
        try:
            key: object = murcko_scaffold(text, input_id=position)
        except InvalidSmilesError:
            # A split must not fail on a record the dataset build will reject and report anyway.
            key = ("unparsable", position)
        groups.setdefault(key, []).append(position)
    return list(groups.values())


def _fill_empty_sets(placed: list[list[list[int]]], fractions: tuple[float, ...], n: int, n_groups: int) -> None:
    """Give each empty set (with a positive fraction) the smallest group of the set with most groups."""
    wanted = [k for k in range(3) if fractions[k] > 0]
    if n < 3 or all(placed[k] for k in wanted):
        return
    if n_groups < len(wanted):
        raise DataError(f"a scaffold split of {n} molecules needs at least {len(wanted)} scaffold groups, found {n_groups} "
                         "(acyclic molecules share the empty scaffold); use a random split instead")
    for k in wanted:
        if not placed[k]:
            donor = max(range(3), key=lambda j: len(placed[j]))
            smallest = min(range(len(placed[donor])), key=lambda i: len(placed[donor][i]))
            placed[k].append(placed[donor].pop(smallest))


def multilabel_stratified_split(y: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> Split:
    """Split multilabel binary data so that each label's positives follow ``fractions`` (iterative
    stratification, Sechidis, Tsoumakas & Vlahavas, ECML PKDD 2011).

    ``y`` is ``[n, T]`` with 0, 1 and NaN for a missing label. A missing label is unknown, not
    negative: it neither counts as a positive nor as an observation of the label. At each step the
    label with the fewest unassigned positive records is taken, and each of those records goes to
    the set that most wants positives of that label (ties: the set that most wants records at all,
    then a random one). Records with no observed positive fill the remaining room at the end. Set
    sizes are exactly those of ``random_split``: a full set takes no more records, which departs
    from the paper only when a set has already received its share.

    Written here with numpy because the ``iterative-stratification`` package does not handle
    missing labels: it takes a complete 0/1 matrix, and filling NaN with 0 would count every
    unknown as a negative (toxcast is 71% missing).

    Raises:
        DataError: when ``y`` holds values other than 0, 1 and NaN, naming the label column.
    """
    fractions = _check_fractions(fractions)
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise DataError(f"labels must be a [n, T] array, got shape {y.shape}")
    check_class_labels(y, "a stratified split")
    n = len(y)
    rng = np.random.default_rng(seed)
    room = _set_sizes(n, fractions)  # records each set still takes
    order = rng.permutation(n)  # the seed decides the order in which a label's records are placed
    positive = y[order] == 1  # NaN compares unequal: missing is not positive
    rows, cols = np.nonzero(positive)  # sparse rows: the positive labels of each (shuffled) record
    row_start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    unplaced_positives = positive.sum(axis=0)
    wanted = np.outer(fractions, unplaced_positives).astype(float)  # positives of each label each set wants
    records_of_label = positive.T.copy()  # contiguous rows for the per-step lookup
    assigned = np.full(n, -1, dtype=np.int64)
    while (unplaced_positives > 0).any():
        fewest = unplaced_positives[unplaced_positives > 0].min()
        candidates = np.flatnonzero(unplaced_positives == fewest)
        label = candidates[rng.integers(len(candidates))] if len(candidates) > 1 else candidates[0]
        records = np.flatnonzero(records_of_label[label])
        for record in records[assigned[records] < 0]:
            target = _choose_set(wanted[:, label], room, rng)
            assigned[record] = target
            labels = cols[row_start[record]:row_start[record + 1]]
            wanted[target, labels] -= 1
            unplaced_positives[labels] -= 1
            room[target] -= 1
    rest = np.flatnonzero(assigned < 0)  # already in random order: ``order`` shuffled the rows
    assigned[rest] = np.repeat(np.arange(3), room)
    sets = (np.sort(order[assigned == k]) for k in range(3))
    return Split(*sets, method="stratified", seed=seed, fractions=fractions)


def _choose_set(wanted: np.ndarray, room: np.ndarray, rng: np.random.Generator) -> int:
    """The open set wanting the label most; ties by room left, then at random."""
    open_sets = [k for k in range(3) if room[k] > 0]
    most = max(wanted[k] for k in open_sets)
    best = [k for k in open_sets if wanted[k] == most]
    if len(best) > 1:
        most_room = max(room[k] for k in best)
        best = [k for k in best if room[k] == most_room]
    return best[0] if len(best) == 1 else best[rng.integers(len(best))]


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or min(values) < 0 or values[0] <= 0 or abs(sum(values) - 1) > 1e-6:
        raise ConfigError(f"fractions must be three non-negative numbers (train > 0) summing to 1, got {tuple(fractions)}")
    return values


def _set_sizes(n: int, fractions: tuple[float, float, float]) -> np.ndarray:
    """Set sizes within one of ``fractions * n`` (largest remainders), no set with a positive
    fraction left empty when ``n`` allows it."""
    if n < 0:
        raise ConfigError(f"cannot split {n} records")
    share = np.asarray(fractions) * n
    sizes = np.floor(share).astype(np.int64)
    by_remainder = np.argsort(-(share - sizes), kind="stable")
    sizes[by_remainder[: n - sizes.sum()]] += 1
    wanted = np.asarray(fractions) > 0
    if n >= wanted.sum():
        for k in np.flatnonzero(wanted & (sizes == 0)):
            sizes[np.argmax(sizes)] -= 1
            sizes[k] += 1
    return sizes


def _check_length(name: str, length: int, n: int) -> None:
    if length != n:
        raise DataError(f"{name} has {length} records, expected n={n}")


def _preview(items: list, limit: int = 5) -> str:
    shown = ", ".join(map(str, items[:limit]))
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in all)"
