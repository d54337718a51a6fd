import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from molgnn.train.plots import learning_curves, parity_plots, roc_curves, roc_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAN = np.nan


def _assert_png(path, written):
    assert written == path and path.exists()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 5_000  # axes, lines and text, not an empty canvas


def test_learning_curves_skip_epochs_without_validation(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": NAN if e % 2 else 1.2 / e, "val_roc_auc": 0.6 + 0.02 * e}
               for e in range(1, 11)]
    path = tmp_path / "curves.png"
    _assert_png(path, learning_curves(history, path))
    nested = tmp_path / "run" / "figures" / "loss.png"
    _assert_png(nested, learning_curves([{"train_loss": 1.0}, {"train_loss": 0.5}], nested))


def test_roc_curves_skip_missing_labels_and_one_class_labels(tmp_path):
    rng = np.random.default_rng(0)
    y_true = (rng.random((200, 15)) < 0.3).astype(float)
    y_prob = np.clip(0.4 * y_true + rng.random((200, 15)) * 0.6, 0, 1)
    y_true[rng.random((200, 15)) < 0.2] = NAN
    y_true[:, 0] = 0  # one class only
    y_true[:, 1] = NAN  # never measured
    y_prob[5, 2] = NAN
    path = tmp_path / "roc.png"
    _assert_png(path, roc_curves(y_true, y_prob, [f"label {j}" for j in range(15)], path, max_labels=12))
    nothing = tmp_path / "nothing.png"
    _assert_png(nothing, roc_curves(np.zeros((4, 1)), np.full((4, 1), 0.5), ["negatives"], nothing))


def test_parity_plots_one_panel_per_target_with_missing_values(tmp_path):
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(100, 5))
    y_pred = y_true + rng.normal(scale=0.2, size=(100, 5))
    y_true[:10, 0] = NAN
    y_pred[10:20, 1] = NAN
    y_true[:, 4] = NAN  # a target with nothing observed still gets its (empty) panel
    path = tmp_path / "parity.png"
    names = ["homo", "lumo", "gap", "mu", "empty"]
    _assert_png(path, parity_plots(y_true, y_pred, names, {"homo": "Ha", "lumo": "Ha", "gap": "Ha", "mu": "D"}, path))


def test_plots_leave_no_pyplot_state(tmp_path):
    learning_curves([{"train_loss": 1.0, "val_loss": 1.1}], tmp_path / "a.png")
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []


@pytest.mark.parametrize("plot", ["roc", "parity"])
def test_one_dimensional_inputs_are_one_label(tmp_path, plot):
    truth, score = np.array([0, 1, 0, 1, NAN]), np.array([0.2, 0.7, 0.4, 0.9, 0.5])
    path = tmp_path / f"{plot}.png"
    written = roc_curves(truth, score, ["y"], path) if plot == "roc" else parity_plots(truth, score, ["y"], {}, path)
    _assert_png(path, written)


def test_roc_legend_covers_no_curve_and_twelve_labels_have_twelve_colours():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=(200, 12)).astype(float)
    y_prob = np.clip(y_true * 0.3 + rng.random((200, 12)) * 0.7, 0, 1)
    figure = roc_figure(y_true, y_prob, [f"label{k}" for k in range(12)])
    FigureCanvasAgg(figure).draw()
    axes = figure.axes[0]
    legend, frame = axes.get_legend().get_window_extent(), axes.get_window_extent()
    assert legend.x0 >= frame.x1  # beside the axes, not over the curves
    curves = [line for line in axes.get_lines() if line.get_label().startswith("label")]
    assert len(curves) == 12 and len({tuple(to_rgba(line.get_color())) for line in curves}) == 12
