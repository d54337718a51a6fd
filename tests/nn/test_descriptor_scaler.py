import math

import pytest
import torch

from molgnn.errors import ConfigError
from molgnn.nn import DescriptorScaler


def _training_values():
    generator = torch.Generator().manual_seed(0)
    heavy = torch.exp(4 * torch.randn(500, generator=generator))  # spans orders of magnitude
    counts = (torch.rand(500, generator=generator) < 0.1).float()  # mostly 0
    constant = torch.full((500,), 7.0)
    values = torch.stack([heavy, counts, constant], dim=1)
    values[::50, 0] = math.nan
    return values


def test_standard_scaling_uses_the_training_statistics_and_maps_nan_to_zero():
    values = _training_values()
    scaler = DescriptorScaler(3).fit(values)
    scaled = scaler(values)
    finite = ~torch.isnan(values[:, 1])
    assert scaled[finite, 1].mean().abs() < 1e-5 and scaled[finite, 1].std(unbiased=False) == pytest.approx(1, abs=1e-4)
    assert torch.equal(scaled[::50, 0], torch.zeros(10)) and torch.equal(scaled[:, 2], torch.zeros(500))


def test_quantile_scaling_gives_normal_scores_of_the_training_ranks():
    values = _training_values()
    scaler = DescriptorScaler(3, method="quantile").fit(values)
    scaled = scaler(values)
    heavy = scaled[~torch.isnan(values[:, 0]), 0]
    # a heavy-tailed descriptor comes out spread like a standard normal (standardization squeezes it next to 0)
    assert heavy.mean().abs() < 0.05 and heavy.std() == pytest.approx(1, abs=0.1) and heavy.abs().max() <= 3.1
    assert DescriptorScaler(3).fit(values)(values)[:, 0].abs().median() < 0.2
    order = torch.argsort(values[~torch.isnan(values[:, 0]), 0])
    assert (heavy[order].diff() >= 0).all()  # monotonic
    zeros, ones = scaled[values[:, 1] == 0, 1], scaled[values[:, 1] == 1, 1]
    assert zeros.unique().numel() == 1 and ones.unique().numel() == 1 and zeros[0] < 0 < ones[0]  # ties: mid-rank
    assert torch.equal(scaled[::50, 0], torch.zeros(10)) and torch.equal(scaled[:, 2], torch.zeros(500))
    beyond = scaler(torch.tensor([[1e30, 5.0, 8.0], [-1e30, -5.0, 6.0]]))
    assert torch.allclose(beyond, torch.tensor([[3.0902, 3.0902, 3.0902], [-3.0902, -3.0902, -3.0902]]), atol=1e-3)


def test_quantile_statistics_are_buffers_saved_with_the_weights():
    scaler = DescriptorScaler(3, method="quantile").fit(_training_values())
    loaded = DescriptorScaler(3, method="quantile")
    loaded.load_state_dict(scaler.state_dict())
    probe = torch.tensor([[3.0, 0.0, 7.0]])
    assert torch.equal(loaded(probe), scaler(probe)) and "knots" in scaler.state_dict()


def test_unknown_method_is_refused():
    with pytest.raises(ConfigError, match="method must be one of"):
        DescriptorScaler(2, method="minmax")
