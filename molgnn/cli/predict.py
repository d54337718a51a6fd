"""``molgnn predict RUN INPUT --out FILE``: one row per input with id, status and predictions.

INPUT is a CSV of SMILES (``--smiles-column``, optional ``--id-column``), a folder of CIF files
(recursive), or one CIF file. The output is CSV, or Parquet when FILE ends in ``.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from molgnn.train.checkpoint import load_run
from molgnn.train.predict import predict_inputs


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="predict with a run folder; one output row per input")
    parser.add_argument("run_dir", help="run folder written by molgnn train")
    parser.add_argument("input", help="CSV of SMILES, a folder of CIFs, or one CIF")
    parser.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    parser.add_argument("--smiles-column", default="smiles")
    parser.add_argument("--id-column", help="column of record ids (default: row number)")
    parser.add_argument("--batch-size", type=int, default=64)


def _read_inputs(args) -> tuple[list, list[str]]:
    path = Path(args.input)
    if path.is_dir():
        files = sorted(path.rglob("*.cif"))
        return files, [str(f.relative_to(path).with_suffix("")) for f in files]
    if path.suffix.lower() == ".cif":
        return [path], [path.stem]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if args.smiles_column not in frame.columns:
        raise ValueError(f"{path}: no column {args.smiles_column!r}; columns are {list(frame.columns)}")
    ids = frame[args.id_column].tolist() if args.id_column else [str(i) for i in range(len(frame))]
    return frame[args.smiles_column].tolist(), ids


def run(args) -> int:
    trained = load_run(args.run_dir)
    inputs, ids = _read_inputs(args)
    frame = predict_inputs(trained, inputs, ids, batch_size=args.batch_size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    counts = frame["status"].eq("ok").sum()
    print(f"{len(frame)} inputs: {counts} predicted, {len(frame) - counts} rejected -> {out}")
    return 0
