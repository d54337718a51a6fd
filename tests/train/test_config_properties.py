"""Property-based: a training config of any keys and values is either valid or a ConfigError naming the problem."""

import math

from hypothesis import given
from hypothesis import strategies as st

from molgnn.errors import ConfigError
from molgnn.train.config import TrainConfig

KEYS = ["model", "model_args", "epochs", "batch_size", "lr", "weight_decay", "patience", "split", "split_fractions", "seed",
        "grad_clip", "optimizer", "oversample", "oversample_budget", "monitor", "pos_weight", "unknown_key"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=12), st.sampled_from(["gine", "cgcnn", "hybrid", "adam", "random", "mae", "none"]),
                   st.lists(st.floats(-1, 2), max_size=4), st.dictionaries(st.sampled_from(["hidden", "layers", "dropout", "hiden"]),
                                                                         st.one_of(st.integers(-2, 64), st.floats(-1, 2),
                                                                                   st.text(max_size=3)), max_size=2))


@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5))
def test_any_config_is_valid_or_a_config_error(values):
    try:
        config = TrainConfig.from_dict(values)
    except ConfigError as error:
        assert str(error)
        return
    assert config.epochs >= 1 and config.batch_size >= 1 and config.patience >= 1 and config.seed >= 0
    assert math.isfinite(config.lr) and config.lr > 0 and abs(sum(config.split_fractions) - 1) < 1e-6
    assert TrainConfig.from_dict(config.to_dict()) == config  # the resolved config reads back as itself
