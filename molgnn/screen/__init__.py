"""Batch screening of candidate libraries with trained runs: streaming, parallel, resumable, ranked.

    from molgnn.screen import screen
    result = screen(["runs/fold0", "runs/fold1"], "library.csv", "hits.parquet")   # mean and std per target
    result.summary["status"]; result.top(100, sort="co2_1bar", max_std=0.2)

``library`` streams the records, ``worker`` featurizes chunks in worker processes, ``ensemble``
runs the models, ``store`` writes atomic chunks and merges them, ``rank`` gives the top-k view.
"""

from molgnn.screen.engine import ScreenError, ScreenResult, screen
from molgnn.screen.rank import top_candidates

__all__ = ["ScreenError", "ScreenResult", "screen", "top_candidates"]
