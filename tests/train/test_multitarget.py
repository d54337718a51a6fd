"""Several pressures at once: hMOF CO2 uptake at five pressures plus the Henry-regime target,
with computed (EQeq) charges, one model, per-pressure metrics, units in the checkpoint."""

import json

import numpy as np
import pytest
import torch

from molgnn.data.build import load_dataset
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.models.registry import MODELS, build_model
from molgnn.train import trainer
from molgnn.train.checkpoint import load_run
from molgnn.train.config import TrainConfig
from molgnn.train.loader import expanded_batches
from molgnn.train.targets import masked_loss

TARGETS = ["CO2_298K_0.01bar", "CO2_298K_0.05bar", "CO2_298K_0.1bar", "CO2_298K_0.5bar", "CO2_298K_2.5bar",
           "CO2_298K_log10_henry"]


@pytest.fixture(scope="module")
def hmof(data_dir, tmp_path_factory):
    return load_dataset("hmof100", data_dir=data_dir, cache_dir=tmp_path_factory.mktemp("cache"), workers=2,
                        progress=False, featurizer=CrystalFeaturizer(charges="eqeq"), options={"henry": "log10"})


def test_computed_charges_and_rejects_with_reasons(hmof):
    assert hmof.targets == TARGETS and hmof.task == "multiregression"
    assert hmof.units["CO2_298K_2.5bar"] == "mol/kg" and hmof.units["CO2_298K_log10_henry"] == "log10(mol/kg/bar)"
    assert len(hmof) + len(hmof.rejects) == 100 and len(hmof) >= 85
    assert all("charge equilibration" in reason for _, reason in hmof.rejects)
    charges = hmof._data.charge
    assert charges.abs().max() < 5 and abs(float(charges[: hmof[0].num_nodes].double().sum())) < 1e-4


@pytest.mark.parametrize("name", [n for n, spec in MODELS.items() if spec.kind == "crystals" and "descriptors" not in spec.requires])
def test_every_crystal_model_has_one_output_per_pressure(hmof, name):
    graph = hmof[0]
    torch.manual_seed(0)
    model = build_model(name, node_dim=graph.x.shape[1], edge_dim=graph.edge_attr.shape[1], out_dim=len(TARGETS),
                        hidden=16, layers=1)
    batch = next(expanded_batches(hmof, batch_size=5))
    assert model(batch).shape == (5, len(TARGETS))


def test_missing_pressures_are_masked_out_of_the_loss():
    target = torch.tensor([[1.0, float("nan")], [float("nan"), 2.0]])
    mask = ~torch.isnan(target)
    output = torch.tensor([[0.5, 100.0], [-100.0, 2.5]], requires_grad=True)
    loss = masked_loss("multiregression", output, target, mask)
    assert loss.item() == pytest.approx((0.25 + 0.25) / 2)
    loss.backward()
    assert output.grad[~mask].abs().sum() == 0


@pytest.mark.slow
def test_one_model_for_all_pressures_with_units_in_the_checkpoint(hmof, tmp_path):
    small = hmof[torch.as_tensor(np.argsort([hmof[i].num_nodes for i in range(len(hmof))])[:40])]
    config = TrainConfig(model="charge", model_args={"hidden": 8, "layers": 1}, epochs=1, batch_size=20, seed=0)
    metrics = trainer.train(small, tmp_path / "run", config, progress=False)
    per_target = metrics["test"]["per_target"]
    assert list(per_target) == TARGETS
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    test_rows = [small.ids.index(i) for i in split["test"]] if isinstance(split["test"][0], str) else split["test"]
    observed = ~torch.isnan(small.labels[torch.as_tensor(test_rows)])
    assert [per_target[t]["n_observed"] for t in TARGETS] == observed.sum(0).tolist()
    run = load_run(tmp_path / "run")
    assert run.info["units"] == hmof.units and run.info["featurizer"]["charges"] == "eqeq"
    assert run.model(next(expanded_batches(small, batch_size=4))).shape == (4, len(TARGETS))
    assert np.isfinite(metrics["test"]["mae"])
