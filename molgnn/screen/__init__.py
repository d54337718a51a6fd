"""Prediction with trained runs, from a few records to whole libraries: streaming, parallel, resumable, ranked.

    from molgnn.screen import predict, screen
    result = screen(["runs/fold0", "runs/fold1"], "library.csv", "hits.parquet")   # mean and std per target
    result.summary["status"]; result.top(100, sort="co2_1bar", max_std=0.2)
    predict("runs/fold0", ["CCO", "c1ccccc1O"])   # the same table, in memory: id, status, reason, predictions

``library`` reads the records, ``worker`` featurizes chunks in worker processes, ``ensemble``
runs the models, ``store`` writes atomic chunks, merges them and writes result tables, ``rank``
gives the top-k view. ``engine`` holds the one loop behind ``screen`` and ``predict``.
"""

from molgnn.screen.engine import ScreenError, ScreenResult, predict, screen
from molgnn.screen.rank import top_candidates

__all__ = ["ScreenError", "ScreenResult", "predict", "screen", "top_candidates"]
