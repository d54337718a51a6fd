"""Data-parallel and model-averaging training on ``torch.distributed``, launched with ``torchrun``.

``learners`` joins the process group that ``torchrun`` describes (NCCL on GPUs, gloo on CPUs);
``sharding`` splits the data between learners; ``averaging`` keeps their models together (DDP,
K-AVG, MAVG, Hier-AVG); ``comm`` counts what they all-reduce. The training loop itself is
``molgnn.train.trainer.train``: the mode is a field of ``TrainConfig``.
"""
