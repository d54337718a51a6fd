import torch

from molgnn.train.targets import TargetScaler, masked_loss, positive_weights


def test_masked_loss_ignores_missing_labels_exactly():
    output = torch.tensor([[0.3, -1.0], [2.0, 0.5]], requires_grad=True)
    target = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    mask = ~torch.isnan(target)
    loss = masked_loss("multilabel", output, target, mask)
    observed = torch.nn.functional.binary_cross_entropy_with_logits(output[mask], target[mask])
    assert torch.allclose(loss, observed)
    loss.backward()
    assert output.grad[0, 1] == 0  # the missing label sends no gradient
    changed = output.detach().clone()
    changed[0, 1] = 50.0
    assert torch.allclose(masked_loss("multilabel", changed, target, mask), observed)


def test_regression_loss_and_scaler():
    y = torch.tensor([[1.0, 10.0], [3.0, float("nan")], [5.0, 30.0]])
    scaler = TargetScaler.fit(y, "multiregression")
    assert torch.allclose(scaler.mean, torch.tensor([3.0, 20.0]))
    assert torch.allclose(scaler.unscale(scaler.scale(y[0])), y[0])
    restored = TargetScaler.from_dict(scaler.to_dict())
    assert torch.equal(restored.std, scaler.std)
    mask = ~torch.isnan(y)
    assert masked_loss("regression", scaler.scale(torch.nan_to_num(y)), scaler.scale(y), mask) == 0


def test_positive_weights():
    y = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, float("nan")], [0.0, 0.0]])
    assert positive_weights(y).tolist() == [3.0, 1.0]
