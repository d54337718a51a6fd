import pytest
import torch

from molgnn.errors import ConfigError
from molgnn.featurize.gaussian import GaussianExpansion


def test_expansion_is_the_gaussian_formula_with_exact_zeros_below_the_floor():
    expansion = GaussianExpansion(0.0, 8.0, 0.2)
    distances = torch.linspace(0.5, 8.0, 1001)
    values = expansion(distances)
    assert values.shape == (1001, 41) and values.dtype == torch.float32
    formula = torch.exp(-((distances.unsqueeze(-1).double() - expansion.centers.double()) ** 2) / 0.2**2)
    kept = formula >= GaussianExpansion.FLOOR * 1.001
    torch.testing.assert_close(values.double()[kept], formula[kept], rtol=1e-5, atol=0)
    assert (values[formula < GaussianExpansion.FLOOR * 0.999] == 0).all()  # no subnormal tails
    tiny = values[values > 0].min()
    assert tiny >= GaussianExpansion.FLOOR * 0.99
    assert torch.equal(expansion(torch.tensor([2.0])), values[torch.isclose(distances, torch.tensor(2.0))])


def test_expansion_refuses_an_empty_range():
    with pytest.raises(ConfigError, match="stop > start"):
        GaussianExpansion(1.0, 1.0, 0.2)
