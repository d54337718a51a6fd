"""``molgnn predict RUN INPUT --out FILE``: one row per input with its id, status, reason and predictions.

INPUT is anything ``molgnn screen`` reads (``molgnn.screen.library``): a CSV / SMI / Parquet file of
SMILES (``--smiles-column``, optional ``--id-column``), a folder (recursive) or tar/zip archive of
CIF files, or one CIF file. The predictions come from the screen's engine, run in this process
by default and written at once, not resumed: ``molgnn screen`` is for whole libraries. The output
is Parquet (FILE ends in ``.parquet``) or CSV (``.csv``), as for ``molgnn screen``; another name is refused.
"""

from __future__ import annotations

from pathlib import Path


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="predict with a run folder; one output row per input")
    parser.add_argument("run_dir", help="run folder, or ensemble folder (mean and std over its members), written by molgnn train, "
                                         "or the name of a shipped model (molgnn models lists them)")
    parser.add_argument("input", help="CSV / SMI / Parquet of SMILES, a folder or tar/zip of CIFs, or one CIF")
    parser.add_argument("--out", required=True, help="output file (.parquet, or .csv)")
    parser.add_argument("--smiles-column", default="smiles")
    parser.add_argument("--id-column", help="column of record ids (default: row number)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default 0: in this process); on CPU "
                                                                "they also run the models")
    parser.add_argument("--charges", help="compute partial charges with this scheme (eqeq, or learned: closer to DDEC) for a model "
                                          "trained on CIF charges")


def resume_hint(args) -> str:
    return "predict keeps no work: rerun it (molgnn screen resumes whole libraries)"


def run(args) -> int:
    from molgnn.screen import predict
    from molgnn.screen.store import check_table_name, write_table

    check_table_name(Path(args.out))
    frame = predict(args.run_dir, args.input, smiles_column=args.smiles_column, id_column=args.id_column,
                    batch_size=args.batch_size, workers=args.workers, charges=args.charges)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with write_table(out) as table:
        table.write(frame)
    ok = int(frame["status"].eq("ok").sum())
    print(f"{len(frame)} inputs: {ok} predicted, {len(frame) - ok} rejected -> {out}")
    return 0
