"""Build the shipped charge model: fit ``molgnn.chem.charge_model`` to crafted726's DDEC charges, measure it, ship it.

    python models/build_charges.py [--data-dir ../shared/data]

1. measures the recipe by 5-fold cross-validation over structures (each structure's charges predicted by a
   model fit without it): per-atom MAE and Pearson r against DDEC, next to EQeq's (the model's input);
2. fits the model on every structure and writes ``molgnn/chem/ddec_crafted726.pt`` with the measurement and
   the commit in its ``info``; prints the measurement as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MOLGNN_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--out", default=str(ROOT / "molgnn" / "chem" / "ddec_crafted726.pt"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    from molgnn.chem.charge_model import fit_charge_model

    crystals = read_ddec(Path(args.data_dir))
    measured = cross_validate(crystals, args.folds)
    model, rejects = fit_charge_model(crystals)
    model.info.update(source="crafted726 cif/DDEC (CRAFTED, Oliveira et al. 2023)", cross_validation=measured,
                      commit=_commit(), left_out={str(e.input_id): e.reason for e in rejects})
    model.save(args.out)
    print(json.dumps(measured))
    return measured


def read_ddec(data_dir: Path) -> list:
    from molgnn.chem.crystal import read_crystal

    return [read_crystal(path) for path in sorted((data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif"))]


def cross_validate(crystals: list, folds: int, seed: int = 0) -> dict:
    """Per-atom agreement with the reference charges of out-of-fold predictions, and of EQeq."""
    from molgnn.chem.charge_model import agreement_with_reference, out_of_fold_charges

    predicted = out_of_fold_charges(crystals, folds, seed)
    kept = [charges for charges in predicted if isinstance(charges, np.ndarray)]
    return {"folds": folds, "structures": len(crystals), "predicted": len(kept), "atoms": sum(map(len, kept)),
            **agreement_with_reference(crystals, predicted)}


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
