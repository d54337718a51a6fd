import math

import numpy as np
import pytest

from molgnn.imbalance import ImbalanceReport
from molgnn.imbalance.cooccurrence import _CloneState, _label_patterns
from molgnn.imbalance.oversamplers import (
    MLROS,
    MLSMOTE,
    OVERSAMPLERS,
    CoOccurrenceOversampler,
    NoOversampler,
    SyntheticSamples,
    UnknownOversamplerError,
    make_oversampler,
)

NAN = np.nan
CLONING = ["none", "ml-ros", "cooccurrence"]


def _after(Y: np.ndarray, added) -> ImbalanceReport:
    """The report of the training set with the added samples appended."""
    extra = added.labels if isinstance(added, SyntheticSamples) else Y[added]
    return ImbalanceReport.from_labels(np.vstack([Y, extra]))


def _positions(added) -> np.ndarray:
    return np.concatenate([added.seed, added.neighbour]) if isinstance(added, SyntheticSamples) else added


def _same(first, second) -> bool:
    if isinstance(first, SyntheticSamples):
        fields = ("seed", "neighbour", "weight", "labels")
        return all(np.array_equal(getattr(first, f), getattr(second, f), equal_nan=True) for f in fields)
    return np.array_equal(first, second)


@pytest.mark.parametrize("name", list(OVERSAMPLERS))
@pytest.mark.parametrize("budget", [0.1, 0.25])
def test_budget_determinism_and_positions_on_real_data(train_set, name, budget):
    Y, fingerprints = train_set.Y, train_set.fingerprints
    added = make_oversampler(name, budget=budget, seed=3).resample(Y, fingerprints)
    assert len(added) <= math.floor(budget * len(Y))
    positions = _positions(added)
    assert positions.dtype == np.int64 and ((positions >= 0) & (positions < len(Y))).all()
    assert _same(added, make_oversampler(name, budget=budget, seed=3).resample(Y.copy(), fingerprints.copy()))
    if name != "none":
        assert len(added) > 0


@pytest.mark.parametrize("name", ["ml-ros", "cooccurrence"])
def test_cloning_lowers_mean_ir(train_set, name):
    before = ImbalanceReport.from_labels(train_set.Y)
    after = _after(train_set.Y, make_oversampler(name, seed=0).resample(train_set.Y))
    assert after.mean_ir < before.mean_ir


def test_ml_ros_depends_on_its_seed(sider_train):
    assert not np.array_equal(MLROS(seed=0).resample(sider_train.Y), MLROS(seed=1).resample(sider_train.Y))


def test_ours_beats_ml_ros_on_mean_ir_without_raising_scumble(sider_train, tox21_train):
    for train in (sider_train, tox21_train):
        Y = train.Y
        before = ImbalanceReport.from_labels(Y)
        ours = CoOccurrenceOversampler(budget=0.25, seed=0).resample(Y)
        after = _after(Y, ours)
        for seed in range(5):
            assert after.mean_ir < _after(Y, MLROS(budget=0.25, seed=seed).resample(Y)).mean_ir, train.name
        assert after.mean_scumble <= before.mean_scumble, train.name


def test_ours_spreads_clones_over_many_molecules(sider_train):
    added = CoOccurrenceOversampler(budget=0.25, seed=0).resample(sider_train.Y)
    copies = np.bincount(added)
    # the k-th copy of a molecule counts 1/k: no handful of molecules takes the whole budget
    assert copies.max() <= 10 and (copies > 0).sum() >= len(added) / 3


def test_ours_estimates_match_an_exact_recomputation(sider_train):
    """MeanIR drop exact; SCUMBLE rise within 10% (the per-label changes leave out label interactions)."""
    Y = sider_train.Y
    patterns, pattern_of = _label_patterns(Y == 1)
    np.testing.assert_array_equal(patterns[pattern_of], Y == 1)
    state = _CloneState(patterns, np.bincount(pattern_of, minlength=len(patterns)))
    state.refresh_scumble()
    before = ImbalanceReport.from_labels(Y)
    assert state.mean_ir() == pytest.approx(before.mean_ir)
    assert state.mean_scumble() == pytest.approx(before.mean_scumble)
    for sample in np.random.default_rng(0).choice(len(Y), 10, replace=False):
        after = _after(Y, np.array([sample]))
        assert state.mean_ir_drop(pattern_of[sample]) == pytest.approx(before.mean_ir - after.mean_ir)
        exact_rise = after.mean_scumble - before.mean_scumble
        assert state.scumble_rise(pattern_of[sample]) == pytest.approx(exact_rise, rel=0.1, abs=1e-7)


# MLSMOTE on a toy case: label "rare" (positions 0-3) is the only minority label.
#             common rare pair   blind
TOY = np.array([
    [1,   1,   1,   NAN],  # 0
    [1,   1,   0,   NAN],  # 1
    [0,   1,   NAN, NAN],  # 2
    [1,   1,   0,   NAN],  # 3
    [1,   0,   1,   1],    # 4
    [1,   0,   1,   1],    # 5
    [1,   0,   1,   1],    # 6
    [1,   0,   1,   1],    # 7
    [1,   0,   1,   1],    # 8
    [1,   0,   0,   1],    # 9
])
# positives 9, 4, 6, 6 -> IRLbl 1, 2.25, 1.5, 1.5; MeanIR = 6.25 / 4 = 1.5625: only "rare" exceeds it
TOY_BITS = np.zeros((10, 10), dtype=np.uint8)
TOY_BITS[0, :2] = 1   # 1100000000
TOY_BITS[1, :6] = 1   # 1111110000: Tanimoto to 0 is 2/6
TOY_BITS[2, 2] = 1    # 0010000000: Tanimoto to 0 is 0, though closest to 0 by Hamming distance (3 against 4)
TOY_BITS[3, 8:] = 1   # 0000000011: nothing in common with 0, 1 or 2


@pytest.mark.parametrize(("rule", "expected"), [
    # votes of samples 0-3 (k = 3: every seed's neighbours are the three others):
    # common: 3 of 4 observed positive; rare: 4 of 4; pair: 1 of 3 observed (2 is missing); blind: none observed
    ("ranking", [1, 1, 0, NAN]),       # more than half: 3 > 2, 4 > 2, 1 > 1.5 fails
    ("union", [1, 1, 1, NAN]),         # any positive
    ("intersection", [0, 1, 0, NAN]),  # all observed positive
])
def test_mlsmote_label_rules_by_hand(rule, expected):
    synthetic = MLSMOTE(budget=1.0, seed=0, k=3, label_rule=rule).resample(TOY, TOY_BITS)
    assert len(synthetic) == 4  # one per sample of the minority label, as in the paper
    assert sorted(synthetic.seed) == [0, 1, 2, 3]
    assert all(n != s and n in (0, 1, 2, 3) for s, n in zip(synthetic.seed, synthetic.neighbour))
    assert ((synthetic.weight >= 0) & (synthetic.weight < 1)).all()
    np.testing.assert_array_equal(synthetic.labels, np.tile(expected, (4, 1)))


def test_mlsmote_neighbours_are_nearest_by_tanimoto():
    synthetic = MLSMOTE(budget=1.0, seed=0, k=1).resample(TOY, TOY_BITS)
    # 0 -> 1 (2/6, not 2, which Hamming would pick); 1 -> 0 (2/6 against 1/6 and 0); 2 -> 1 (1/6);
    # 3 shares no bit with anyone: the tie goes to the lowest position, 0
    assert dict(zip(synthetic.seed.tolist(), synthetic.neighbour.tolist())) == {0: 1, 1: 0, 2: 1, 3: 0}
    interpolated = synthetic.interpolated_features(TOY_BITS)
    row = int(np.flatnonzero(synthetic.seed == 0)[0])
    w = synthetic.weight[row]
    np.testing.assert_allclose(interpolated[row], (1 - w) * TOY_BITS[0] + w * TOY_BITS[1], rtol=1e-6)


def test_mlsmote_budget_is_shared_fairly_between_minority_labels(sider_train):
    Y = sider_train.Y
    synthetic = MLSMOTE(budget=0.05, seed=0).resample(Y, sider_train.fingerprints)
    report = ImbalanceReport.from_labels(Y)
    minority = np.flatnonzero(report.irlbl > report.mean_ir)
    assert len(minority) >= 2 and len(synthetic) == math.floor(0.05 * len(Y))
    # the labels take turns and no bag runs out this early: each gets at least its share of seeds
    # (a seed may carry several minority labels, so the counts can only be higher)
    shares = [int(np.isin(synthetic.seed, np.flatnonzero(Y[:, label] == 1)).sum()) for label in minority]
    assert min(shares) >= len(synthetic) // len(minority)
    assert (synthetic.labels[:, minority].max(axis=1) == 1).all()


def test_mlsmote_needs_bit_fingerprints():
    with pytest.raises(ValueError, match="fingerprints"):
        MLSMOTE().resample(TOY)
    with pytest.raises(ValueError, match="bit vectors"):
        MLSMOTE().resample(TOY, TOY_BITS * 0.5 + 0.25)
    with pytest.raises(ValueError, match="unknown label rule 'vote'; choose one of ranking, union, intersection"):
        MLSMOTE(label_rule="vote").resample(TOY, TOY_BITS)


@pytest.mark.parametrize("name", list(OVERSAMPLERS))
def test_labels_without_positives_or_all_missing_do_not_crash(name):
    Y = np.hstack([TOY, np.zeros((10, 1)), np.full((10, 1), NAN)])
    bits = np.vstack([TOY_BITS[:4], np.eye(6, 10, dtype=np.uint8)])
    added = make_oversampler(name, budget=0.5, seed=1).resample(Y, bits)
    positions = _positions(added)
    assert ((positions >= 0) & (positions < len(Y))).all() and len(added) <= 5
    for nothing in (np.full((5, 3), NAN), np.zeros((5, 3)), np.empty((0, 3))):
        assert len(make_oversampler(name, budget=0.5).resample(nothing, np.zeros((len(nothing), 4)))) == 0


@pytest.mark.parametrize("name", CLONING)
def test_missing_labels_are_not_positives(name):
    # sample 2 is missing "b" everywhere it could matter: it must not be cloned as a "b" sample
    Y = np.array([[1, 0], [1, 0], [1, NAN], [1, 0], [0, 1], [1, 1]], dtype=float)
    added = make_oversampler(name, budget=0.5, seed=0).resample(Y)
    assert set(added.tolist()) <= {4, 5}


def test_ours_adds_nothing_when_nothing_helps():
    balanced = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=float)  # MeanIR is already 1
    assert len(CoOccurrenceOversampler(budget=1.0).resample(balanced)) == 0


def test_registry_and_parameters():
    assert set(OVERSAMPLERS) == {"none", "ml-ros", "mlsmote", "cooccurrence"}
    assert isinstance(make_oversampler("none"), NoOversampler)
    with pytest.raises(UnknownOversamplerError, match="unknown oversampler 'smote'; registered: none, ml-ros, mlsmote, cooccurrence"):
        make_oversampler("smote")
    sampler = make_oversampler("cooccurrence", budget=0.1, seed=4, scumble_weight=0.0)
    assert sampler.get_params() == {"budget": 0.1, "seed": 4, "scumble_weight": 0.0, "copy_discount": 1.0, "refreshes": 16}
    assert repr(sampler).startswith("CoOccurrenceOversampler(budget=0.1, seed=4")
    assert MLSMOTE().get_params() == {"budget": 0.25, "seed": 0, "k": 5, "label_rule": "ranking"}
    assert {name: set(cls.requires) for name, cls in OVERSAMPLERS.items()} == {
        "none": set(), "ml-ros": set(), "mlsmote": {"fingerprint"}, "cooccurrence": set()}  # what features are read from
    for budget in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="budget"):
            MLROS(budget=budget).resample(TOY)
    assert len(MLROS(budget=0).resample(TOY)) == 0
