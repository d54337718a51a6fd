import pandas as pd
import pytest

from molgnn.data.build import dataset_from_inputs
from molgnn.featurize.molecule import MoleculeFeaturizer


@pytest.fixture(scope="module")
def sider(data_dir):
    """The first 120 sider molecules with their 27 labels (a module may define its own ``sider``)."""
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:120]
    return dataset_from_inputs(frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(), MoleculeFeaturizer(),
                               targets=list(frame.columns[1:]), name="sider120")
