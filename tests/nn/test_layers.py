import pytest
import torch
from torch_geometric.data import Batch

from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.nn import CGCNNConv, ChargeEmbedding, EdgeUpdate, NeighborAttentionConv


@pytest.fixture(scope="module")
def mof(crafted):
    featurizer = CrystalFeaturizer()
    graph = featurizer(crafted / "ACOLIP.cif")
    graph.h = torch.randn(graph.num_nodes, 16, generator=torch.Generator().manual_seed(0))
    return graph


def _permuted(graph):
    """The same graph with its atoms renumbered."""
    order = torch.randperm(graph.num_nodes, generator=torch.Generator().manual_seed(1))
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(graph.num_nodes)
    return order, graph.h[order], inverse[graph.edge_index]


@pytest.mark.parametrize("layer", [CGCNNConv(16, 41), NeighborAttentionConv(16, 41, heads=4)], ids=repr)
def test_node_convolutions_shapes_repr_and_permutation_equivariance(layer, mof):
    layer.eval()
    out = layer(mof.h, mof.edge_index, mof.edge_attr)
    assert out.shape == (mof.num_nodes, 16) and torch.isfinite(out).all()
    assert repr(layer).startswith(type(layer).__name__ + "(16, edge_dim=41")
    order, h, edge_index = _permuted(mof)
    assert torch.allclose(layer(h, edge_index, mof.edge_attr), out[order], atol=1e-5)
    layer.reset_parameters()


def test_edge_update_shapes_and_equivariance(mof):
    layer = EdgeUpdate(16, 41).eval()
    out = layer(mof.h, mof.edge_index, mof.edge_attr)
    assert out.shape == mof.edge_attr.shape and repr(layer) == "EdgeUpdate(16, edge_dim=41)"
    _, h, edge_index = _permuted(mof)
    assert torch.allclose(layer(h, edge_index, mof.edge_attr), out, atol=1e-5)  # edges keep their order


def test_charge_embedding_depends_on_charge():
    layer = ChargeEmbedding(8)
    out = layer(torch.tensor([-1.0, 0.0, 1.0]))
    assert out.shape == (3, 8) and not torch.allclose(out[0], out[2]) and repr(layer) == "ChargeEmbedding(8)"


def test_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible"):
        NeighborAttentionConv(10, 4, heads=4)


def test_batched_graphs_do_not_interact(mof):
    layer = CGCNNConv(16, 41).eval()
    single = layer(mof.h, mof.edge_index, mof.edge_attr)
    batch = Batch.from_data_list([mof, mof])
    assert torch.allclose(layer(batch.h, batch.edge_index, batch.edge_attr)[: mof.num_nodes], single, atol=1e-6)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_cgcnn_conv_equals_torch_geometric_cgconv_with_outer_softplus(mode, monkeypatch):
    import torch.nn.functional as F
    from torch_geometric.nn import CGConv

    from molgnn.nn import cgcnn_conv

    monkeypatch.setattr(cgcnn_conv, "EDGE_BLOCK", 64)  # several blocks, the last one partial
    torch.manual_seed(0)
    x, edge_index, edge_attr = torch.randn(50, 16), torch.randint(0, 50, (2, 400)), torch.randn(400, 5)
    ours, reference = CGCNNConv(16, 5).train(mode == "train"), CGConv(16, dim=5, batch_norm=True).train(mode == "train")
    with torch.no_grad():  # CGConv's lin_f / lin_s act on [x_i, x_j, e]; ours splits the same matrix
        weight = torch.cat([reference.lin_f.weight, reference.lin_s.weight])
        ours.lin_target.weight.copy_(weight[:, :16])
        ours.lin_source.weight.copy_(weight[:, 16:32])
        ours.lin_edge.weight.copy_(weight[:, 32:])
        ours.lin_edge.bias.copy_(torch.cat([reference.lin_f.bias, reference.lin_s.bias]))
    x.requires_grad_(True)
    edge_attr.requires_grad_(True)
    out = ours(x, edge_index, edge_attr)
    expected = F.softplus(reference(x, edge_index, edge_attr))
    assert torch.allclose(out, expected, atol=1e-5)
    # the hand-written backward gives autograd's gradients for the atoms, edges and every parameter
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), [x, edge_attr, *ours.parameters()])
    expected_grads = torch.autograd.grad((expected * weights).sum(), [x, edge_attr, *reference.parameters()])
    x_grad, edge_grad, target, source, edge, edge_bias, *norm = grads
    x_ref, edge_ref, lin_f, bias_f, lin_s, bias_s, *norm_ref = expected_grads
    weight = torch.cat([lin_f, lin_s])
    for got, want in [(x_grad, x_ref), (edge_grad, edge_ref), (target, weight[:, :16]), (source, weight[:, 16:32]),
                      (edge, weight[:, 32:]), (edge_bias, torch.cat([bias_f, bias_s])), *zip(norm, norm_ref)]:
        assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_gated_edge_sum_gradients_in_double_precision(monkeypatch):
    from molgnn.nn import cgcnn_conv

    monkeypatch.setattr(cgcnn_conv, "EDGE_BLOCK", 7)
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(*shape, dtype=torch.double, generator=generator, requires_grad=True)
              for shape in ((9, 6), (9, 6), (30, 4), (6, 4), (6,))]
    edge_index = torch.randint(0, 9, (2, 30), generator=generator)
    assert torch.autograd.gradcheck(cgcnn_conv.GatedEdgeSum.apply, (*inputs, edge_index))


def test_atomwise_gate_conv_equals_torch_geometric_gateconv():
    from torch_geometric.nn.models.attentive_fp import GATEConv

    from molgnn.nn import AtomwiseGATEConv

    torch.manual_seed(0)
    x, edge_index = torch.randn(40, 16, requires_grad=True), torch.randint(0, 40, (2, 90))
    edge_attr = torch.randn(90, 5, requires_grad=True)
    reference, ours = GATEConv(16, 16, 5), AtomwiseGATEConv(16, 16, 5)
    with torch.no_grad():
        reference.bias.normal_()
    ours.load_state_dict(reference.state_dict())
    out, expected = ours(x, edge_index, edge_attr), reference(x, edge_index, edge_attr)
    assert torch.allclose(out, expected, atol=1e-5)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), [x, edge_attr, *ours.parameters()])
    expected_grads = torch.autograd.grad((expected * weights).sum(), [x, edge_attr, *reference.parameters()])
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, atol=1e-5)


def test_attentive_fp_keeps_torch_geometric_parameters_and_initial_values():
    from torch_geometric.nn import AttentiveFP

    from molgnn.models.molecule import attentive_fp

    torch.manual_seed(3)
    reference = AttentiveFP(20, 32, 2, 6, 2, 2).state_dict()
    torch.manual_seed(3)
    ours = attentive_fp(20, 32, 2, 6, 2, 2, 0.0).state_dict()
    assert list(ours) == list(reference) and all(torch.equal(ours[k], reference[k]) for k in ours)
