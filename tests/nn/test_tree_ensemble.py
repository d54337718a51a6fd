import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor

from molgnn.nn.tree_ensemble import TreeEnsemble


@pytest.fixture(scope="module")
def esol(data_dir):
    """300 ESOL molecules as RDKit descriptor rows (float32, as scikit-learn's trees read them) with their logS."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:300]
    rows = [[f(Chem.MolFromSmiles(s)) for _, f in Descriptors.descList[:40]] for s in frame["smiles"]]
    return np.nan_to_num(np.asarray(rows, dtype=np.float32)), frame["logp"].to_numpy(float)


@pytest.mark.parametrize("kind", ["random", "extra"])
def test_converted_forests_predict_what_scikit_learn_predicts(esol, kind):
    x, y = esol
    if kind == "random":
        regressor = RandomForestRegressor(n_estimators=20, random_state=0).fit(x[:200], y[:200])
        classifier = RandomForestClassifier(n_estimators=15, random_state=0).fit(x[:200], y[:200] < -3)
    else:  # the blend's kind: class weights change the leaves' values, not only their counts
        regressor = ExtraTreesRegressor(n_estimators=20, random_state=0).fit(x[:200], y[:200])
        classifier = ExtraTreesClassifier(n_estimators=15, random_state=0, class_weight="balanced",
                                          min_samples_leaf=5).fit(x[:200], y[:200] < -3)
    trees = TreeEnsemble.from_sklearn([regressor, classifier, 0.25])
    assert len(trees.root) == 20 + 15 + 1 and trees.out_dim == 3
    out = trees(torch.as_tensor(x[200:]).double()).double().numpy()
    np.testing.assert_allclose(out[:, 0], regressor.predict(x[200:]), rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], classifier.predict_proba(x[200:])[:, 1], atol=1e-6)
    assert np.all(out[:, 2] == 0.25)
    # inputs exactly on a threshold go left, as in scikit-learn
    node = int(np.flatnonzero(regressor.estimators_[0].tree_.children_left >= 0)[0])
    on_edge = x[200:201].copy()
    on_edge[0, regressor.estimators_[0].tree_.feature[node]] = np.float32(regressor.estimators_[0].tree_.threshold[node])
    np.testing.assert_allclose(trees(torch.as_tensor(on_edge))[0, 0].item(), regressor.predict(on_edge)[0], rtol=1e-5)


def test_trees_survive_a_weights_only_round_trip(esol, tmp_path):
    x, y = esol
    trees = TreeEnsemble.from_sklearn([RandomForestRegressor(n_estimators=5, random_state=1).fit(x, y)])
    torch.save(trees.state_dict(), tmp_path / "trees.pt")
    loaded = TreeEnsemble(len(trees.feature), len(trees.root), trees.out_dim, trees.depth)
    loaded.load_state_dict(torch.load(tmp_path / "trees.pt", weights_only=True))
    assert torch.equal(loaded(torch.as_tensor(x)), trees(torch.as_tensor(x)))
