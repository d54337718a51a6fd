"""How the learners' models stay together: DDP, K-AVG, MAVG (block momentum) and Hier-AVG.

Every mode is a ``Synchronizer`` that the training loop calls at three points: ``wrap`` the
model before training, ``after_step`` after each optimizer step, ``end_epoch`` before
validation. Every epoch ends with all learners holding the same parameters and buffers, so the
epoch's validation, the best weights and the checkpoint describe one model, and a restart (with
the same or another number of learners) starts every learner from it.

- ``ddp``: ``DistributedDataParallel`` all-reduces the gradients of every step; its buffers are
  not broadcast from learner 0 at every forward but averaged at the end of each epoch (BatchNorm
  running statistics then reflect every learner's data). On GPUs BatchNorm becomes
  ``SyncBatchNorm``; gloo has no ``SyncBatchNorm``, so on CPUs each learner normalizes with
  the statistics of its own part of the batch.
- ``kavg``: each learner takes K local optimizer steps, then the parameters are averaged by
  ``PeriodicModelAverager`` (period K) and the floating-point buffers in a second all-reduce
  (the averagers average parameters only). K = 1 is synchronous averaging.
- ``mavg``: as ``kavg``; with ``a`` the learners' mean after the K steps and ``w`` the model
  at the start of the block, ``v = μ v + (a - w)``, ``w = w + v`` (Chen and Huo, ICASSP 2016,
  "block-wise model-update filtering"); μ = 0 is ``kavg``. Buffers are averaged plainly.
- ``hier``: ``HierarchicalModelAverager`` averages within groups of S consecutive ranks every K
  steps and over all learners every K·K2 steps (K2 group averages); buffers follow in the same
  group.

The averagers count steps themselves; here their counter is set from the run's own count of
local steps before each call, so averaging happens after steps K, 2K, ... and the count (saved
in ``last.pt`` with the block momentum) survives a restart.

Optimizer state: each learner keeps its own optimizer state (momentum, Adam moments); averaging
changes the parameters only, never the moments, as in PyTorch's ``PostLocalSGDOptimizer``. A
checkpoint holds the main learner's optimizer state, and after a restart every learner
continues from it.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict

import torch
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.distributed.algorithms.model_averaging import utils
from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager
from torch.distributed.algorithms.model_averaging.hierarchical_model_averager import HierarchicalModelAverager
from torch.nn.parallel import DistributedDataParallel

from molgnn.distributed.learners import Learners
from molgnn.errors import ConfigError


def float_buffers(model: nn.Module) -> list[torch.Tensor]:
    """The buffers that averaging must follow (BatchNorm running mean and variance)."""
    return [buffer for buffer in model.buffers() if buffer.is_floating_point()]


def average_buffers(model: nn.Module, group=None) -> None:
    buffers = float_buffers(model)
    if buffers:
        utils.average_parameters(iter(buffers), group)


def average_model(model: nn.Module, group=None) -> None:
    """Parameters (those with gradients, as the averagers choose them) and buffers averaged over ``group``."""
    utils.average_parameters_or_parameter_groups(model.parameters(), group)
    average_buffers(model, group)


class Synchronizer:
    """No averaging: the base of the modes, holding the count of local steps."""

    name = "none"

    def __init__(self, learners: Learners):
        self.learners = learners
        self.steps = 0

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def after_step(self, model: nn.Module) -> None:
        self.steps += 1

    def end_epoch(self, model: nn.Module) -> None:
        """Leave every learner with the same parameters and buffers."""

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state.get("steps", 0))


class DataParallel(Synchronizer):
    """Synchronous data parallelism: ``DistributedDataParallel`` with PyTorch's ``allreduce_hook``."""

    name = "ddp"

    def wrap(self, model: nn.Module) -> nn.Module:
        cuda = self.learners.device.type == "cuda"
        if cuda:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        # Buffers are averaged at the end of the epoch instead of being copied from learner 0 at every forward.
        no_buffer_sync = ({"forward_sync_buffers": False}
                          if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                          else {"broadcast_buffers": False})
        parallel = DistributedDataParallel(model, device_ids=[self.learners.device] if cuda else None, **no_buffer_sync)
        parallel.register_comm_hook(None, default_hooks.allreduce_hook)
        return parallel

    def end_epoch(self, model: nn.Module) -> None:
        average_buffers(model)


class PeriodicAveraging(Synchronizer):
    """K-AVG: average the models after every ``period`` local steps and at the end of each epoch."""

    name = "kavg"

    def __init__(self, learners: Learners, period: int):
        super().__init__(learners)
        self.period = period
        self.averager = PeriodicModelAverager(period=period, warmup_steps=0)
        self.synchronized = True

    def after_step(self, model: nn.Module) -> None:
        super().after_step(model)
        self.averager.step = self.steps
        due = self.steps % self.period == 0
        self.averager.average_parameters(model.parameters())
        if due:
            average_buffers(model)
            self._after_average(model)
        self.synchronized = due

    def end_epoch(self, model: nn.Module) -> None:
        if not self.synchronized:
            average_model(model)
            self._after_average(model)
            self.synchronized = True

    def _after_average(self, model: nn.Module) -> None:
        """Hook for block momentum: the parameters now hold the learners' mean."""


class BlockMomentum(PeriodicAveraging):
    """MAVG: K-AVG whose global model moves by a momentum over the block updates ``a - w``."""

    name = "mavg"

    def __init__(self, learners: Learners, period: int, momentum: float):
        super().__init__(learners, period)
        self.momentum = momentum
        self.anchor: list[torch.Tensor] = []
        self.velocity: list[torch.Tensor] | None = None

    def wrap(self, model: nn.Module) -> nn.Module:
        self.anchor = [parameter.detach().clone() for parameter in model.parameters()]
        if self.velocity is None:
            self.velocity = [torch.zeros_like(parameter) for parameter in self.anchor]
        else:
            self.velocity = [value.to(parameter.device) for value, parameter in zip(self.velocity, self.anchor)]
        return model

    @torch.no_grad()
    def _after_average(self, model: nn.Module) -> None:
        # w + (μ v + a - w) written as a + μ v: the same number, and exactly the average when μ = 0.
        for parameter, anchor, velocity in zip(model.parameters(), self.anchor, self.velocity):
            block_update = parameter.data - anchor
            parameter.data.add_(velocity, alpha=self.momentum)
            velocity.mul_(self.momentum).add_(block_update)
            anchor.copy_(parameter.data)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "velocity": [value.detach().cpu() for value in self.velocity or []]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if state.get("velocity"):
            self.velocity = list(state["velocity"])


class HierarchicalAveraging(Synchronizer):
    """Hier-AVG: average within groups of ``group_size`` every ``period`` steps, over all every ``period * rounds``."""

    name = "hier"

    def __init__(self, learners: Learners, period: int, group_size: int, rounds: int):
        super().__init__(learners)
        if not 1 <= group_size < learners.size or learners.size % group_size:
            raise ConfigError(f"hier needs a group_size that divides the number of learners and is smaller: "
                             f"group_size={group_size}, learners={learners.size}")
        if rounds < 2:
            raise ConfigError(f"hier needs global_every >= 2 (with 1 it is kavg), got {rounds}")
        self.period, self.global_period = period, period * rounds
        self.averager = HierarchicalModelAverager(OrderedDict([(period, group_size), (self.global_period, learners.size)]),
                                                  warmup_steps=0)
        self.group = self.averager.period_process_group_dict[period]
        self.synchronized = True

    def after_step(self, model: nn.Module) -> None:
        super().after_step(model)
        self.averager.step = self.steps
        self.averager.average_parameters(model.parameters())
        if self.steps % self.global_period == 0:
            average_buffers(model)
            self.synchronized = True
        else:
            if self.steps % self.period == 0:
                average_buffers(model, self.group)
            self.synchronized = False

    def end_epoch(self, model: nn.Module) -> None:
        if not self.synchronized:
            average_model(model)
            self.synchronized = True


def make_synchronizer(mode: str, learners: Learners, average_every: int = 4, block_momentum: float = 0.0,
                      group_size: int = 2, global_every: int = 4) -> Synchronizer:
    """The synchronizer of ``TrainConfig.distributed`` (``ddp``, ``kavg``, ``mavg``, ``hier``)."""
    if mode == "ddp":
        return DataParallel(learners)
    if mode == "kavg":
        return PeriodicAveraging(learners, average_every)
    if mode == "mavg":
        return BlockMomentum(learners, average_every, block_momentum)
    if mode == "hier":
        return HierarchicalAveraging(learners, average_every, group_size, global_every)
    raise ConfigError(f"unknown distributed mode {mode!r}: one of ddp, kavg, mavg, hier")
