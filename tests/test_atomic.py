"""Atomic writes: the target holds the old content or the new, never a part; no temporary file is left."""

import pytest

from molgnn.atomic import atomic_path, atomic_write_text


def test_a_finished_write_replaces_the_target(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "weights.pt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".weights.pt.")
        temporary.write_text("half of the ne")
        raise KeyboardInterrupt  # killed mid-write
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["weights.pt"]
