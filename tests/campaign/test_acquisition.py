import numpy as np
import pytest
from scipy.stats import norm

from molgnn.campaign.acquisition import expected_improvement, scores, select_batch
from molgnn.errors import ConfigError

# three members' predictions of four candidates: means 2, 3, 1, 3; standard deviations 0, sqrt(2/3), sqrt(8/3), 0
MEMBERS = np.array([[2.0, 2.0, 3.0, 3.0],
                    [2.0, 4.0, -1.0, 3.0],
                    [2.0, 3.0, 1.0, 3.0]])


def test_greedy_and_ucb_by_hand():
    np.testing.assert_allclose(scores("greedy", MEMBERS), [2, 3, 1, 3])
    np.testing.assert_allclose(scores("ucb", MEMBERS, beta=1.5), [2, 3 + 1.5 * np.sqrt(2 / 3), 1 + 1.5 * np.sqrt(8 / 3), 3])


def test_expected_improvement_by_hand():
    # mu 3, sigma 1, f* 2: z = 1, EI = 1 * Phi(1) + phi(1) = 0.8413 + 0.2420
    assert expected_improvement(np.array([3.0]), np.array([1.0]), 2.0)[0] == pytest.approx(1.0833154705876864)
    # no spread: the sure gain, or nothing
    np.testing.assert_allclose(expected_improvement(np.array([3.0, 1.0]), np.array([0.0, 0.0]), 2.0), [1.0, 0.0])
    # below the best, uncertainty still pays: mu 1, sigma 2, f* 2: z = -0.5
    expected = -1 * norm.cdf(-0.5) + 2 * norm.pdf(-0.5)
    assert expected_improvement(np.array([1.0]), np.array([2.0]), 2.0)[0] == pytest.approx(expected)
    got = scores("ei", MEMBERS, best=3.0)
    # a sure 3 cannot improve on 3; a mean of 3 with spread gains sigma * phi(0)
    np.testing.assert_allclose(got, [0, np.sqrt(2 / 3) * norm.pdf(0), 2 * np.sqrt(2 / 3) * (-norm.cdf(-np.sqrt(1.5)) * np.sqrt(1.5)
                                                                                    + norm.pdf(np.sqrt(1.5))), 0])


def test_batches_follow_the_scores_and_minimizing_negates():
    picks, values = select_batch("greedy", MEMBERS, 2)
    assert picks.tolist() == [1, 3] and values.tolist() == [3, 3]  # ties keep pool order
    picks, _ = select_batch("greedy", MEMBERS, 2, maximize=False)
    assert picks.tolist() == [2, 0]
    picks, _ = select_batch("ei", MEMBERS, 1, maximize=False, best=2.0)  # improving below 2: only candidate 2 can
    assert picks.tolist() == [2]


def test_the_diversity_rule_passes_over_close_candidates():
    features = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [1.1, 0.0]])
    picks, _ = select_batch("greedy", MEMBERS, 3, features=features, min_distance=0.5)
    assert picks.tolist() == [1, 0, 2]  # candidate 3 is 0.1 from candidate 1, already picked
    picks, _ = select_batch("greedy", MEMBERS, 4, features=features, min_distance=100.0)
    assert picks.tolist() == [1]  # the rule may leave the batch short
    with pytest.raises(ConfigError, match="feature row per candidate"):
        select_batch("greedy", MEMBERS, 2, min_distance=1.0)


def test_thompson_picks_each_members_best_without_repeats():
    members = np.array([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    picks, values = select_batch("thompson", members, 3, rng=np.random.default_rng(0))
    assert sorted(picks.tolist()) == [0, 1, 2] and len(set(picks.tolist())) == 3
    # over many seeds, the first pick is each member's best about half the time
    first = [select_batch("thompson", members, 1, rng=np.random.default_rng(seed))[0][0] for seed in range(200)]
    assert 70 < sum(f == 0 for f in first) < 130


def test_random_is_seeded_and_covers_the_pool():
    one = select_batch("random", MEMBERS, 4, rng=np.random.default_rng(5))[0]
    two = select_batch("random", MEMBERS, 4, rng=np.random.default_rng(5))[0]
    assert one.tolist() == two.tolist() and sorted(one.tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize("call, message", [
    (lambda: scores("bayes", MEMBERS), "unknown acquisition 'bayes'"),
    (lambda: scores("ei", MEMBERS), "best value found so far"),
    (lambda: select_batch("greedy", MEMBERS, 0), "batch size must be >= 1"),
    (lambda: select_batch("greedy", np.array([[1.0, np.nan]]), 1), "finite"),
])
def test_bad_settings_are_config_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
