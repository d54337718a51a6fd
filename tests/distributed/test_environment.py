import torch

from molgnn.distributed.environment import TORCHRUN_VARIABLES, default_device, torchrun_environment


def test_outside_torchrun_a_process_is_rank_0_of_1(monkeypatch):
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    job = torchrun_environment()
    assert (job.rank, job.world_size, job.local_rank, job.launched) == (0, 1, 0, False)


def test_torchrun_variables_are_read(monkeypatch):
    for name, value in zip(TORCHRUN_VARIABLES, ("3", "4", "1", "127.0.0.1", "29500")):
        monkeypatch.setenv(name, value)
    job = torchrun_environment()
    assert (job.rank, job.world_size, job.local_rank, job.launched) == (3, 4, 1, True)
    expected = torch.device("cuda", 1 % torch.cuda.device_count()) if torch.cuda.is_available() else torch.device("cpu")
    assert default_device() == expected
