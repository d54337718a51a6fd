"""``molgnn screen RUN [RUN ...] LIBRARY --out FILE``: one ranked, resumable table for a whole library.

LIBRARY is a folder or tar/zip archive of CIFs, a CSV/SMI/Parquet file of SMILES, or ``core-mof``
(the CoRE MOF 2019 database, ``pip install 'molgnn[coremof]'``). Several run folders make an
ensemble: mean and std per target. Rerunning the same command resumes an interrupted screen.
"""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="screen a library with one or more run folders; ranked table, resumable")
    parser.add_argument("runs", nargs="+", help="run folder(s) or ensemble folder(s) written by molgnn train, or shipped "
                                                   "model name(s) (molgnn models); several: an ensemble")
    parser.add_argument("library", help="folder / tar / zip of CIFs, CSV / SMI / Parquet of SMILES, or core-mof[:SET]")
    parser.add_argument("--out", required=True, help="output table (.parquet, or .csv)")
    parser.add_argument("--smiles-column", default="smiles")
    parser.add_argument("--id-column", help="column of record ids (default: row number)")
    parser.add_argument("--workers", type=int, help="worker processes (default: all cores; 0: in this process)")
    parser.add_argument("--inference", choices=("auto", "workers", "main"), default="auto",
                        help="where the models run: in the workers, each on its own thread (auto on CPU), or in this "
                             "process on batches the workers collate (auto on a GPU)")
    parser.add_argument("--chunk-size", type=int, help="records per chunk, the unit of writing and resuming")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: the GPU when there is one)")
    parser.add_argument("--charges", help="compute partial charges with this scheme (eqeq, or learned: closer to DDEC) for models "
                                          "trained on CIF charges when the library has none")
    parser.add_argument("--max-atoms", type=int, help="reject structures with more atoms (default: the model's setting)")
    parser.add_argument("--restart", action="store_true", help="discard earlier work instead of resuming it")
    parser.add_argument("--record-seconds", type=float,
                        help="time budget of one record in a worker (default 300); a slower record is rejected")
    parser.add_argument("--worker-memory-gb", type=float,
                        help="memory budget of a worker, GiB beyond its start-up size (default 4); a record needing more is rejected")
    parser.add_argument("--top", type=int, help="print (and write) the best K records")
    parser.add_argument("--sort", help="target to rank by (default: the first)")
    parser.add_argument("--ascending", action="store_true", help="smallest first")
    parser.add_argument("--min-std", type=float, help="keep records whose ensemble std is at least this")
    parser.add_argument("--max-std", type=float, help="keep records whose ensemble std is at most this")
    parser.add_argument("--min", type=float, dest="min_value", help="keep records whose prediction is at least this")
    parser.add_argument("--max", type=float, dest="max_value", help="keep records whose prediction is at most this")
    parser.add_argument("--top-out", help="where the top-K table goes (default: OUT with .top<K>.csv)")
    parser.add_argument("--merge-timeout", type=float, help="seconds rank 0 waits for the other ranks")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--no-progress", action="store_true")


def _budgets(args) -> dict:
    """The per-record budgets the flags set (the others keep ``molgnn.screen.screen``'s defaults)."""
    budgets = {} if args.record_seconds is None else {"record_seconds": args.record_seconds}
    if args.worker_memory_gb is not None:
        budgets["worker_memory"] = int(args.worker_memory_gb * 2**30)
    return budgets


def resume_hint(args) -> str:
    return f"rerun the same command to resume from the finished chunks in {args.out}.parts"


def run(args) -> int:
    import pandas as pd

    from molgnn.screen import screen, top_candidates
    from molgnn.screen.rank import sort_columns

    result = screen(args.runs, args.library, args.out, smiles_column=args.smiles_column, id_column=args.id_column,
                    workers=args.workers, chunk_size=args.chunk_size, batch_size=args.batch_size, device=args.device,
                    charges=args.charges, max_atoms=args.max_atoms, restart=args.restart, inference=args.inference,
                    progress=not args.no_progress and not args.json, merge_timeout=args.merge_timeout, **_budgets(args))
    summary = result.summary
    if "records" not in summary or "status" not in summary:  # a rank other than 0: its shard is done
        print(json.dumps(summary) if args.json else f"rank {summary['rank']}: {summary['records']} records screened")
        return 0
    if args.json:
        print(json.dumps(summary))
    else:
        rate = summary["records_per_s"]
        print(f"{summary['records']} records: {summary['ok']} ok, {summary['rejected']} rejected "
              f"({', '.join(f'{k} {v}' for k, v in summary['status'].items())}); "
              + (f"{rate:.0f} records/s" if rate else "nothing left to screen") + f" -> {summary['out']}")
    if args.top:
        top = top_candidates(result.path, args.top, args.sort, ascending=args.ascending, min_std=args.min_std,
                             max_std=args.max_std, min_value=args.min_value, max_value=args.max_value)
        out = Path(args.top_out) if args.top_out else Path(args.out).with_suffix(f".top{args.top}.csv")
        top.to_csv(out, index=False)
        if not args.json:
            value, std = sort_columns(top.columns.tolist(), args.sort)
            shown = top[["rank", "id", value] + ([std] if std else []) + ["source"]]
            with pd.option_context("display.width", 200, "display.max_colwidth", 60):
                print(shown.to_string(index=False))
            print(f"top {len(top)} -> {out}")
    return 0
