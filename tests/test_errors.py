"""Every error class of the package derives from ``MolgnnError`` and keeps the builtin base callers catch."""

import importlib
import inspect
import pkgutil

import pytest

import molgnn
from molgnn.chem.errors import InvalidInputError
from molgnn.data.cards import UnknownDatasetError, get_card
from molgnn.data.paths import DataDirError
from molgnn.errors import ConfigError, MolgnnError
from molgnn.train.checkpoint import CheckpointError
from molgnn.train.config import TrainConfig


def _error_classes() -> set[type]:
    classes = set()
    for info in pkgutil.walk_packages(molgnn.__path__, "molgnn."):
        if info.name == "molgnn.__main__":  # runs the command when imported
            continue
        module = importlib.import_module(info.name)
        classes |= {value for _, value in inspect.getmembers(module, inspect.isclass)
                    if issubclass(value, BaseException) and value.__module__.startswith("molgnn")}
    return classes


def test_every_error_class_derives_from_the_root():
    classes = _error_classes()
    assert len(classes) > 20 and InvalidInputError in classes and CheckpointError in classes
    assert sorted(c.__qualname__ for c in classes if not issubclass(c, MolgnnError)) == []


@pytest.mark.parametrize(("error", "builtin"), [(InvalidInputError, ValueError), (ConfigError, ValueError),
                                                (UnknownDatasetError, KeyError), (DataDirError, FileNotFoundError),
                                                (CheckpointError, RuntimeError)])
def test_errors_keep_their_builtin_base(error, builtin):
    assert issubclass(error, builtin) and issubclass(error, MolgnnError)


def test_messages_name_the_input():
    with pytest.raises(KeyError) as unknown:
        get_card("tox22")
    assert str(unknown.value).startswith("unknown dataset 'tox22'; registered: ")  # not quoted as KeyError would
    with pytest.raises(ValueError, match="epochs must be of type int, got '3'"):
        TrainConfig(epochs="3")
