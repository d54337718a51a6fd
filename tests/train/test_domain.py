"""The applicability domain: what a run's training records span, and the flags of inputs outside it."""

import json

import pandas as pd
import pytest
import torch
from torch_geometric.data import Batch, Data

from molgnn.screen import predict
from molgnn.train.config import TrainConfig
from molgnn.train.domain import DOMAIN, Domain, read_domain
from molgnn.train.trainer import train


def _graph(z, descriptors=None):
    graph = Data(z=torch.tensor(z), num_nodes=len(z))
    if descriptors is not None:
        graph.descriptors = torch.tensor([descriptors], dtype=torch.float32)
    return graph


def test_flags_name_unseen_elements_atom_counts_and_descriptors_far_outside():
    domain = Domain(frozenset({1, 6, 8}), (2, 10), ("lcd", "density"), (3.0, 0.5), (13.0, 1.5))
    batch = Batch.from_data_list([
        _graph([6, 8, 1], [5.0, 1.0]),            # inside
        _graph([6, 8, 29, 29], [13.5, 1.0]),      # Cu unseen; lcd past the maximum by less than 10 % of the range: inside
        _graph([6] * 12, [14.5, 0.1]),            # 12 atoms > 10 + 0.8; lcd 14.5 > 13 + 1; density 0.1 < 0.5 - 0.1
    ])
    flags = domain.flags(batch)
    assert flags[0] == "inside"
    assert flags[1] == "elements not in training: Cu"
    assert flags[2] == ("12 atoms (training 2-10); lcd 14.5 (training 3 to 13); density 0.1 (training 0.5 to 1.5)")


def test_union_spans_both_and_round_trips_through_json():
    a = Domain(frozenset({6}), (2, 5), ("x",), (0.0,), (1.0,))
    b = Domain(frozenset({8}), (4, 9), ("x",), (-1.0,), (0.5,))
    both = a.union(b)
    assert both == Domain(frozenset({6, 8}), (2, 9), ("x",), (-1.0,), (1.0,))
    assert Domain.from_dict(json.loads(json.dumps(both.to_dict()))) == both


def test_a_trained_run_records_its_training_domain_and_predictions_flag_what_lies_outside(sider, tmp_path):
    config = TrainConfig(model="gine", model_args={"hidden": 16, "layers": 1}, epochs=1, batch_size=32, seed=0)
    train(sider, tmp_path / "run", config, progress=False)
    domain = read_domain(tmp_path / "run")
    train_ids = json.loads((tmp_path / "run" / "split.json").read_text())["train"]
    position = {i: k for k, i in enumerate(sider.ids)}
    numbers = [sider.atomic_numbers()[position[i]] for i in train_ids]
    assert domain.atoms == (min(map(len, numbers)), max(map(len, numbers)))
    assert domain.elements == frozenset(int(z) for zs in numbers for z in zs)
    assert (tmp_path / "run" / DOMAIN).exists()

    long_chain = "C" * (2 * domain.atoms[1])
    frame = predict(tmp_path / "run", ["CCO", "C[Se]C", long_chain])
    assert frame["domain"].tolist()[0] == "inside"
    assert "elements not in training: Se" in frame["domain"].iloc[1]
    assert f"{len(long_chain)} atoms (training {domain.atoms[0]}-{domain.atoms[1]})" in frame["domain"].iloc[2]
    assert pd.api.types.is_float_dtype(frame.iloc[:, 5])


def test_a_run_folder_without_a_domain_file_predicts_without_the_column(sider, tmp_path):
    config = TrainConfig(model="gine", model_args={"hidden": 16, "layers": 1}, epochs=1, batch_size=32, seed=0)
    train(sider, tmp_path / "run", config, progress=False)
    (tmp_path / "run" / DOMAIN).unlink()
    assert read_domain(tmp_path / "run") is None
    assert "domain" not in predict(tmp_path / "run", ["CCO"]).columns


def test_the_domain_of_no_records_is_an_error(sider):
    with pytest.raises(ValueError, match="no records"):
        Domain.of_dataset(sider, [])
