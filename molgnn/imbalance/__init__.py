"""Class imbalance in multilabel data: measures (IRLbl, MeanIR, CVIR, SCUMBLE) and oversamplers.

Typical use::

    from molgnn.imbalance import ImbalanceReport, make_oversampler
    ImbalanceReport.from_labels(y_train, label_names).to_dict()
    added = make_oversampler("cooccurrence", budget=0.25, seed=0).resample(y_train)

numpy only: nothing here needs torch or RDKit.
"""

from molgnn.imbalance.measures import ImbalanceReport
from molgnn.imbalance.oversamplers import (
    MLROS,
    MLSMOTE,
    OVERSAMPLERS,
    CoOccurrenceOversampler,
    NoOversampler,
    Oversampler,
    SyntheticSamples,
    make_oversampler,
)

__all__ = ["MLROS", "MLSMOTE", "OVERSAMPLERS", "CoOccurrenceOversampler", "ImbalanceReport", "NoOversampler",
           "Oversampler", "SyntheticSamples", "make_oversampler"]
