"""``molgnn campaign CONFIG --out FOLDER``: a steered campaign; the surrogate picks what the oracle simulates next.

CONFIG is a TOML or JSON file (``molgnn.campaign.config``: the pool, the oracle, the surrogate, the
acquisition, the batch size, the budget). The oracle calls and the surrogate's training run on Parsl
through Colmena: local processes by default, a cluster with ``parsl_config``. Every pick and result
is kept in FOLDER; the same command on the same folder resumes a campaign that was stopped.
"""

from __future__ import annotations

import json


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="steer simulations with a surrogate (active learning on Colmena + Parsl)")
    parser.add_argument("config", help="campaign config, TOML or JSON")
    parser.add_argument("--out", required=True, help="campaign folder (a campaign there with the same config is resumed)")
    parser.add_argument("--data-dir", help="folder of the registered data sets (default $MOLGNN_DATA_DIR)")
    parser.add_argument("--cache-dir", help="dataset cache of the pool (default $MOLGNN_CACHE_DIR or ~/.cache/molgnn)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def resume_hint(args) -> str:
    return f"rerun the same command to resume the campaign in {args.out} (finished calls are kept)"


def run(args) -> int:
    from molgnn.campaign import run_campaign

    summary = run_campaign(args.config, args.out, data_dir=args.data_dir, cache_dir=args.cache_dir, progress=not args.json)
    if args.json:
        print(json.dumps(summary))
        return 0
    best = summary["best"]
    found = f"; top {summary['top_set']['fraction']:.0%} found: {summary['top_set']['found']}/{summary['top_set']['size']}" \
        if "top_set" in summary else ""
    print(f"{summary['calls']} oracle calls ({', '.join(f'{n} {s}' for s, n in summary['status'].items())}); "
          f"best {best['candidate']} = {best['value']:.4g} at call {best['call']}{found}" if best else
          f"{summary['calls']} oracle calls, none with a value: {summary['status']}")
    print(f"history: {args.out}/history.csv, discovery curve: {args.out}/discovery.png")
    return 0
