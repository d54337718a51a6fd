import numpy as np
import pandas as pd
import pytest

from molgnn.data.build import dataset_from_inputs
from molgnn.data.splits import Split, make_split
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.train.baselines import classification_baselines


@pytest.fixture(scope="module")
def tox21(data_dir):
    """The first 400 tox21 molecules (12 assays, missing labels) with fingerprints and RDKit descriptors."""
    frame = pd.read_csv(data_dir / "molnet" / "tox21.csv").iloc[:400]
    labels = [c for c in frame.columns if c != "smiles"]
    return dataset_from_inputs(frame["smiles"].tolist(), frame[labels].to_numpy(float),
                               MoleculeFeaturizer(fingerprint_bits=1024, descriptors="rdkit2d"), targets=labels, name="tox21-400")


def test_classification_baselines_score_the_prevalence_and_a_forest_on_the_test_split(tox21):
    split = make_split("random", len(tox21), seed=0)
    results = classification_baselines(tox21, split, trees=50)
    assert set(results) == {"mean predictor", "random forest"}
    mean, forest = results["mean predictor"]["test"], results["random forest"]["test"]
    assert mean["roc_auc"] == pytest.approx(0.5)  # a constant score ranks nothing
    observed = int(np.isfinite(tox21.labels.numpy()[split.test]).sum())
    assert sum(s["n_observed"] for s in forest["per_label"].values()) == observed
    assert 0.6 < forest["roc_auc"] <= 1  # fingerprints and descriptors carry signal on tox21
    assert results["random forest"]["test_tuned_threshold"]["per_label"]["NR-AR"]["threshold"] != 0.5


def test_classification_baselines_refuse_a_split_without_validation_graphs(tox21):
    split = make_split("random", len(tox21), seed=0)
    no_val = Split(train=np.concatenate([split.train, split.val]), val=np.array([], dtype=int), test=split.test,
                   method="random", seed=0)
    with pytest.raises(ValueError, match="validation"):
        classification_baselines(tox21, no_val)
