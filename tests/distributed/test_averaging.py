"""DDP, K-AVG, MAVG and Hier-AVG in real gloo process groups, against their definitions."""

import json

import pytest
import torch

from tests.distributed.conftest import GINE, HYBRID, assert_same_weights, log, torchrun, write_plan

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


def test_two_ddp_learners_equal_one_process_with_the_same_global_batch(two_learners, tmp_path, data_dir):
    torchrun(write_plan(tmp_path, data_dir, {"ddp": {**HYBRID, "distributed": "ddp"}}), "--nproc-per-node", "1")
    assert_same_weights(tmp_path / "ddp", two_learners / "ddp")
    one, two = log(tmp_path / "ddp"), log(two_learners / "ddp")
    assert [row["learners"] for row in one + two] == [1, 1, 1, 2, 2, 2]
    for a, b in zip(one, two):  # validation saw all 9 molecules once on both (5 + 4 with two learners)
        assert a["val_roc_auc"] == pytest.approx(b["val_roc_auc"], abs=1e-6)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    assert two[0]["allreduce_calls"] >= 4 and two[0]["steps"] == 4
    assert json.loads((two_learners / "ddp" / "metrics.json").read_text())["val"]["n"] == 9


def test_kavg_with_k1_equals_synchronous_sgd(two_learners):
    assert_same_weights(two_learners / "kavg1_sgd", two_learners / "ddp_sgd")
    assert log(two_learners / "kavg1_sgd")[0]["allreduce_calls"] == 4  # one model average per step, no buffers


def test_mavg_without_momentum_is_kavg_and_momentum_changes_it(two_learners):
    assert_same_weights(two_learners / "mavg0", two_learners / "kavg2")
    kavg, mavg = torch.load(two_learners / "kavg2" / "last.pt", weights_only=True), \
        torch.load(two_learners / "mavg" / "last.pt", weights_only=True)
    assert kavg["synchronizer"]["steps"] == mavg["synchronizer"]["steps"] == 12
    assert any((mavg["model"][key] - kavg["model"][key]).abs().max() > 1e-4 for key in kavg["model"])
    assert any(velocity.abs().max() > 0 for velocity in mavg["synchronizer"]["velocity"])
    # GINE has BatchNorm: every average is two all-reduces (parameters, then running statistics), after steps 2 and 4
    assert log(two_learners / "kavg2")[0]["allreduce_calls"] == 4


def test_hier_averages_in_groups_then_globally_with_four_learners(tmp_path, data_dir):
    plan = write_plan(tmp_path, data_dir, {"hier": {**GINE, "distributed": "hier", "average_every": 2, "group_size": 2,
                                                    "global_every": 2}}, hier_probe=True)
    torchrun(plan, "--nproc-per-node", "4")
    expected = _hier_by_hand(learners=4, group=2, period=2, global_period=4, steps=4)
    assert expected[1] == [3.5, 3.5, 9.5, 9.5] and expected[3] == [11.5] * 4
    for rank in range(4):
        probe = json.loads((tmp_path / f"hier_rank{rank}.json").read_text())
        assert [row[0] for row in probe["values"]] == [step[rank] for step in expected]  # parameters
        assert [row[1] for row in probe["values"]] == [step[rank] for step in expected]  # BatchNorm running mean
        assert probe["calls"] == 4  # group average at step 2, global at step 4, each parameters + buffers
    rows = log(tmp_path / "hier")
    assert [row["epoch"] for row in rows] == [1, 2, 3] and rows[-1]["steps"] == 3 * 4 and rows[0]["learners"] == 4
    assert (tmp_path / "hier" / "metrics.json").exists()


def _hier_by_hand(learners: int, group: int, period: int, global_period: int, steps: int) -> list[list[float]]:
    """Learner r starts at r and adds r + 1 every step; groups of consecutive ranks average every ``period`` steps."""
    values, rows = [float(rank) for rank in range(learners)], []
    for step in range(1, steps + 1):
        values = [value + rank + 1 for rank, value in enumerate(values)]
        size = learners if step % global_period == 0 else group if step % period == 0 else 1
        values = [sum(values[start:start + size]) / size for start in range(0, learners, size) for _ in range(size)]
        rows.append(values)
    return rows
