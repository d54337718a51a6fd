import json
import time

import numpy as np
import pandas as pd
import pytest

from molgnn.chem.errors import InvalidSmilesError
from molgnn.chem.scaffold import murcko_scaffold
from molgnn.data.sources import smiles_csv
from molgnn.data.splits import (
    SET_NAMES,
    Split,
    make_split,
    multilabel_stratified_split,
    random_split,
    scaffold_split,
)


@pytest.fixture(scope="module")
def tox21(data_dir):
    return smiles_csv(data_dir / "molnet" / "tox21.csv")


def _assert_partition(split: Split, n: int) -> None:
    sets = [split.train, split.val, split.test]
    np.testing.assert_array_equal(np.sort(np.concatenate(sets)), np.arange(n))
    assert all(len(s) for s in sets)


def _assert_sizes_follow_fractions(split: Split, n: int, fractions) -> None:
    for positions, fraction in zip((split.train, split.val, split.test), fractions):
        assert abs(len(positions) - fraction * n) <= 1


def _positive_rates(y, positions):
    with np.errstate(invalid="ignore"):
        return np.nanmean(y[positions], axis=0)


def _rate_deviation(y, split, labels):
    """Mean absolute difference between the val / test and the train positive rates."""
    train = _positive_rates(y, split.train)[labels]
    return np.mean([np.abs(_positive_rates(y, s)[labels] - train) for s in (split.val, split.test)])


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.5, 0.25, 0.25)])
def test_random_and_stratified_sizes_follow_fractions(tox21, fractions):
    n = len(tox21)
    for split in (random_split(n, fractions, seed=3), multilabel_stratified_split(tox21.y, fractions, seed=3)):
        _assert_partition(split, n)
        _assert_sizes_follow_fractions(split, n, fractions)
        assert split.fractions == fractions


@pytest.mark.parametrize("n", [3, 4, 5, 7, 11])
def test_every_set_is_non_empty_from_three_records(n):
    _assert_partition(random_split(n), n)
    y = np.zeros((n, 2))
    y[0, 0] = 1
    _assert_partition(multilabel_stratified_split(y), n)


def test_splits_are_deterministic_per_seed_and_differ_across_seeds(tox21):
    n = len(tox21)
    smiles = tox21.inputs[:800]
    makers = [lambda seed: random_split(n, seed=seed),
              lambda seed: multilabel_stratified_split(tox21.y, seed=seed),
              lambda seed: scaffold_split(smiles, seed=seed)]
    for make in makers:
        first, again, other = make(0), make(0), make(1)
        for name in SET_NAMES:
            np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
        assert not np.array_equal(first.test, other.test)


@pytest.mark.slow
def test_scaffold_split_puts_no_scaffold_in_two_sets(tox21):
    split = scaffold_split(tox21.inputs, seed=0)
    _assert_partition(split, len(tox21))
    assert split.method == "scaffold"
    # Whole groups fill train, then val, and test takes the rest.
    assert len(split.train) <= 0.8 * len(tox21) + 1 and len(split.val) <= 0.1 * len(tox21) + 1

    def scaffold(position):
        try:
            return murcko_scaffold(tox21.inputs[position])
        except InvalidSmilesError:  # tox21 holds a few SMILES that RDKit rejects: each is its own group
            return f"unparsable {position}"

    seen = [{scaffold(i) for i in positions} for positions in (split.train, split.val, split.test)]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert "" in seen[0]  # the large acyclic group goes to train


def test_scaffold_split_keeps_unparsable_smiles_as_their_own_groups():
    smiles = ["c1ccccc1C", "c1ccccc1CC", "C1CC", "", "C1CCCCC1O", "c1ccncc1N", "CCO", "CCN", "not a smiles", "C1CCNCC1"]
    split = scaffold_split(smiles, (0.6, 0.2, 0.2), seed=0)
    _assert_partition(split, len(smiles))
    benzene = [k for k, positions in enumerate((split.train, split.val, split.test)) if {0, 1} & set(positions.tolist())]
    assert len(benzene) == 1


def test_scaffold_split_needs_three_groups():
    with pytest.raises(ValueError, match="at least 3 scaffold groups, found 1"):
        scaffold_split(["CCO", "CCN", "CCC", "CCCl"])
    _assert_partition(scaffold_split(["CCO", "c1ccccc1", "C1CC1"]), 3)


def test_unbalanced_scaffold_split_places_largest_groups_first():
    smiles = ["CCO", "CCN", "CCC", "CCCC", "c1ccccc1O", "c1ccccc1N", "C1CCC1", "C1CC1", "c1ccncc1", "C1CCOC1"]
    split = scaffold_split(smiles, seed=0, balanced=False)
    assert {0, 1, 2, 3, 4, 5} <= set(split.train.tolist())
    _assert_partition(split, len(smiles))


def test_stratified_split_keeps_positive_rates_better_than_random(tox21):
    y = tox21.y
    frequent = np.flatnonzero(np.nansum(y, axis=0) >= 100)
    assert len(frequent) >= 10
    stratified = [multilabel_stratified_split(y, seed=seed) for seed in range(5)]
    randoms = [random_split(len(y), seed=seed) for seed in range(5)]
    for split in stratified:
        train = _positive_rates(y, split.train)[frequent]
        for positions in (split.val, split.test):
            assert np.abs(_positive_rates(y, positions)[frequent] - train).max() < 0.03
    stratified_deviation = np.mean([_rate_deviation(y, s, frequent) for s in stratified])
    random_deviation = np.mean([_rate_deviation(y, s, frequent) for s in randoms])
    assert stratified_deviation < 0.5 * random_deviation


def test_stratified_split_places_each_labels_positives_by_fraction(tox21):
    split = multilabel_stratified_split(tox21.y, seed=0)
    positives = np.nansum(tox21.y, axis=0)
    for positions, fraction in zip((split.train, split.val, split.test), split.fractions):
        assert np.abs(np.nansum(tox21.y[positions], axis=0) - fraction * positives).max() <= 1


def test_missing_labels_are_not_counted_as_negatives():
    """Half the records miss label 0: its positives still split by fraction among observed records."""
    rng = np.random.default_rng(0)
    y = (rng.random((1000, 2)) < 0.1).astype(float)
    y[:500, 0] = np.nan
    split = multilabel_stratified_split(y, (0.5, 0.25, 0.25), seed=0)
    positives = np.nansum(y, axis=0)
    assert abs(np.nansum(y[split.val], axis=0)[0] - positives[0] / 4) <= 1


def test_labels_without_positives_or_observations_do_not_crash(tox21):
    y = np.column_stack([tox21.y, np.full(len(tox21), np.nan), np.zeros(len(tox21))])
    split = multilabel_stratified_split(y, seed=0)
    _assert_partition(split, len(y))
    _assert_sizes_follow_fractions(split, len(y), split.fractions)
    everything_missing = multilabel_stratified_split(np.full((10, 3), np.nan), seed=0)
    _assert_partition(everything_missing, 10)


def test_stratified_split_is_fast_on_tox21_and_toxcast(tox21, data_dir):
    start = time.perf_counter()
    multilabel_stratified_split(tox21.y, seed=0)
    assert time.perf_counter() - start < 2  # about 0.06 s; a per-step cost above O(n*T) would take minutes
    # pandas reads the numeric labels directly (NaN for empty cells), faster than the validating loader.
    y = pd.read_csv(data_dir / "molnet" / "toxcast.csv.gz").drop(columns="smiles").to_numpy(dtype=float)
    assert y.shape == (8576, 617) and np.isnan(y).mean() > 0.7
    start = time.perf_counter()
    split = multilabel_stratified_split(y, seed=0)
    assert time.perf_counter() - start < 10  # about 0.5 s
    _assert_partition(split, len(y))
    _assert_sizes_follow_fractions(split, len(y), split.fractions)


def test_stratified_split_rejects_non_binary_labels():
    with pytest.raises(ValueError, match="label column 1 has other values"):
        multilabel_stratified_split(np.array([[0, 1], [1, 2.5], [0, np.nan]]))


def test_round_trip_through_ids_survives_reordering(tox21):
    split = make_split("stratified", len(tox21), y=tox21.y, seed=4)
    description = json.loads(json.dumps(split.to_dict(tox21.ids)))
    assert description["method"] == "stratified" and description["seed"] == 4 and description["fractions"] == [0.8, 0.1, 0.1]
    restored = Split.from_dict(description, tox21.ids)
    for name in SET_NAMES:
        np.testing.assert_array_equal(getattr(restored, name), getattr(split, name))
    # A dataset rebuilt in another order gets the same records in each set.
    order = np.random.default_rng(0).permutation(len(tox21))
    reordered = Split.from_dict(description, [tox21.ids[i] for i in order])
    for name in SET_NAMES:
        assert sorted(order[getattr(reordered, name)].tolist()) == sorted(getattr(split, name).tolist())


def test_from_dict_names_unknown_and_left_out_ids():
    split = random_split(10, seed=0)
    ids = [f"mol-{i}" for i in range(10)]
    description = split.to_dict(ids)
    with pytest.raises(ValueError, match="1 ids of the split are not in the dataset: mol-9"):
        Split.from_dict(description, ids[:9])
    with pytest.raises(ValueError, match="1 dataset ids are in no split set: extra"):
        Split.from_dict(description, [*ids, "extra"])
    with pytest.raises(ValueError, match="more than once"):
        Split.from_dict({**description, "val": description["val"] + description["test"][:1]}, ids)
    with pytest.raises(ValueError, match="lacks seed"):
        Split.from_dict({k: v for k, v in description.items() if k != "seed"}, ids)
    with pytest.raises(ValueError, match="2 ids given for a split of 10"):
        split.to_dict(ids[:2])


def test_split_checks_disjointness_and_coverage():
    with pytest.raises(ValueError, match="overlap or repeat positions: 1"):
        Split(np.array([0, 1]), np.array([1]), np.array([2]), "random", 0)
    with pytest.raises(ValueError, match="missing 2"):
        Split(np.array([0, 1]), np.array([3]), np.array([4]), "random", 0)
    with pytest.raises(ValueError, match="fractions"):
        random_split(10, (0.8, 0.3, 0.1))


def test_make_split_dispatches_and_names_valid_methods(tox21):
    assert make_split("random", 20, seed=1).method == "random"
    assert make_split("scaffold", 5, smiles=["CCO", "c1ccccc1", "C1CC1", "C1CCC1", "c1ccncc1"]).method == "scaffold"
    with pytest.raises(ValueError, match="choose one of random, scaffold, stratified"):
        make_split("kennard-stone", 20)
    with pytest.raises(ValueError, match="needs the SMILES"):
        make_split("scaffold", 20)
    with pytest.raises(ValueError, match="needs the labels"):
        make_split("stratified", 20)
    with pytest.raises(ValueError, match="y has 7831 records, expected n=20"):
        make_split("stratified", 20, y=tox21.y)
