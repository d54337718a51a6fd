"""Property-based: a CSV of SMILES and labels with any content loads with every row accounted for, or is refused clearly."""

import csv
import io

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from molgnn.data.sources import DatasetSpecError, smiles_csv

CELLS = st.one_of(st.sampled_from(["0", "1", "", "nan", "NA", "inf", "-inf", "1e999", "-0", " 1 ", "yes", "0.5", "1,0", '"']),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6))
SMILES = st.one_of(st.sampled_from(["CCO", "c1ccccc1", "C1CC", "", "CC CC", "[Na+].[Cl-]"]), st.text(max_size=10))


@given(st.lists(st.tuples(SMILES, CELLS, CELLS), max_size=12), st.booleans())
def test_every_row_is_a_record_or_a_reject_and_labels_are_finite_or_missing(tmp_path_factory, rows, quoted):
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL)
    writer.writerow(["smiles", "a", "b"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue())
    try:
        records = smiles_csv(path)
    except DatasetSpecError as error:
        assert str(path) in str(error)
        return
    assert len(records) + len(records.rejects) == len(rows)
    assert len(set(records.ids) | {i for i, _ in records.rejects}) == len(rows)  # no row lost, none twice
    assert records.y.shape == (len(records), 2) and not np.isinf(records.y).any()
    assert all(reason for _, reason in records.rejects)
