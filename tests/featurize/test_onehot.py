import numpy as np

from molgnn.featurize.onehot import Flag, OneHot, TableEncoder


def test_values_outside_the_categories_go_to_other():
    encoder = TableEncoder(("a", "b"), (OneHot("a", (-1, 0, 2), ("-1", "0", "2")), Flag("b")))
    table = np.array([[-1, 0], [2, 1], [1, 0], [-9, 1], [99, 0]])
    out = encoder(table)
    assert encoder.names == ["a=-1", "a=0", "a=2", "a=other", "b"]
    np.testing.assert_array_equal(out, [[1, 0, 0, 0, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 1, 0]])
