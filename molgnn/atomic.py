"""Atomic file writes: write to a temporary file beside the target, then rename it over the target.

A rename within one folder is atomic (``os.replace``), so a reader, or a run resumed after a crash,
sees the old file or the new one, never half of one. The temporary name is hidden and carries the
process id, so processes writing the same target (the ranks of a ``torchrun`` job) never share one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed to ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left as it was.

    Example::

        with atomic_path(run_dir / "weights.pt") as temporary:
            torch.save(state, temporary)
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
