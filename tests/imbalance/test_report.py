import json

import numpy as np

from molgnn.imbalance import ImbalanceReport
from molgnn.imbalance.report import markdown_table, write_reports


def test_report_files_compare_the_label_sets(tmp_path, sider_train):
    before = ImbalanceReport.from_labels(sider_train.Y, sider_train.label_names)
    after = ImbalanceReport.from_labels(np.concatenate([sider_train.Y, sider_train.Y[:50]]), sider_train.label_names)
    written = write_reports({"before": before, "after": after}, tmp_path)
    assert all(path.stat().st_size > 0 for path in written.values())
    assert json.loads(written["json"].read_text())["after"]["n_samples"] == len(sider_train.Y) + 50
    rows = markdown_table({"before": before}).splitlines()
    assert rows[2].startswith(f"| before | {len(sider_train.Y)} | {before.mean_ir:.4g} |")
    assert (tmp_path / "imbalance_before.csv").read_text().splitlines()[0] == "label,positives,observed,irlbl"
