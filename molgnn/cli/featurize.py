"""``molgnn featurize DATA``: build (or read from the cache) a featurized dataset and summarize it.

DATA is a registered dataset name, a CGCNN folder, a CSV of SMILES, or a single CIF file or
SMILES string (``--smiles``) to featurize and describe.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from molgnn.errors import ConfigError
from molgnn.featurize.base import CRYSTALS, MOLECULES

CACHE_WAIT = 7200.0  # seconds
FEATURIZER_FLAGS = {MOLECULES: ("gasteiger", "fingerprint_bits", "descriptors"),
                    CRYSTALS: ("cutoff", "max_neighbors", "charges", "charge_model", "element_features", "isolated",
                               "descriptors", "descriptor_settings")}


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="featurize a dataset (cached) and print its summary")
    dataset_arguments(parser, optional=True)
    parser.add_argument("--smiles", help="featurize this one SMILES instead of a dataset")
    parser.add_argument("--strict", action="store_true", help="fail if any record is rejected")
    parser.add_argument("--rebuild", action="store_true", help="ignore an existing cache entry")


def dataset_arguments(parser, optional: bool = False, featurizer_flags: bool = True) -> None:
    """The arguments that name a dataset and its featurizer (shared by featurize, train, evaluate)."""
    parser.add_argument("data", nargs="?" if optional else None,
                        help="registered name, CGCNN folder, CSV of SMILES" + (", or one CIF file" if optional else ""))
    parser.add_argument("--data-dir", help="folder of the registered datasets' files (default: $MOLGNN_DATA_DIR)")
    parser.add_argument("--cache-dir", help="processed-dataset cache (default: $MOLGNN_CACHE_DIR or ~/.cache/molgnn)")
    parser.add_argument("--workers", type=int, help="featurization processes (default: all cores)")
    parser.add_argument("--cache-wait", type=float, default=CACHE_WAIT, metavar="SECONDS",
                        help="how long to wait for another process (or rank 0 of a torchrun job) building the same "
                             f"cache entry (default {CACHE_WAIT:.0f})")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="loader option, VALUE as JSON when it parses (e.g. pressures=[0.1,1] gas=N2)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if not featurizer_flags:
        return
    # each flag sets the featurizer field of its name (FEATURIZER_FLAGS); unset, the featurizer's default holds
    molecules = parser.add_argument_group("molecule featurizer")
    molecules.add_argument("--gasteiger", action="store_true", default=None, help="add Gasteiger partial charges")
    molecules.add_argument("--fingerprint-bits", type=int, help="add a Morgan fingerprint of this length")
    crystals = parser.add_argument_group("crystal featurizer")
    crystals.add_argument("--cutoff", type=float, help="neighbour radius, Å (default 8)")
    crystals.add_argument("--max-neighbors", type=int, help="neighbours per atom (default 12)")
    crystals.add_argument("--charges",  # the featurizer checks the values (its CHARGE_SCHEMES)
                          help="partial charges: cif (_atom_site_charge), eqeq (computed), learned (EQeq corrected towards DDEC), "
                               "none (default: cif when the set has them)")
    crystals.add_argument("--charge-model", help="with --charges learned: 'ddec-crafted726' (shipped, default) or the path "
                                                 "of a model fit by molgnn.chem.charge_model.fit_charge_model")
    crystals.add_argument("--element-features", help="'cgcnn' (default) or the path of an atom_init.json")
    crystals.add_argument("--isolated",
                          help="atom without neighbours in the cutoff: reject the structure (error, default) or keep the atom")
    crystals.add_argument("--descriptor-setting", dest="descriptor_settings", action="append", metavar="SET.ARG=VALUE",
                          help="an argument of a descriptor set's calculator, repeatable (e.g. energies.insertions=30000; "
                               "part of the cache key and the run's config)")
    parser.add_argument("--descriptors", metavar="SETS",
                        help="global descriptors to attach, comma-separated; molecules: rdkit2d (RDKit's 2D "
                             "descriptors); crystals: pores (pore geometry), energies (CO2 host-guest energies "
                             "from the charges); for the *_descriptors models (default none)")


def options_from_args(args) -> dict:
    return _options(args.option)


def featurizer_from_args(args, default):
    """``default`` with the fields that the featurizer flags of its kind set."""
    flags = {name: getattr(args, name) for name in FEATURIZER_FLAGS[default.kind] if getattr(args, name, None) is not None}
    if "descriptors" in flags:  # one descriptor set per molecule, any number per crystal
        names = tuple(name for name in _names(flags["descriptors"]) if name != "none")
        flags["descriptors"] = names if default.kind == CRYSTALS else ",".join(names) or "none"
    if "descriptor_settings" in flags:
        flags["descriptor_settings"] = _descriptor_settings(flags["descriptor_settings"])
    return dataclasses.replace(default, **flags)


def _descriptor_settings(pairs: list[str]) -> dict:
    """``["energies.insertions=30000", ...]`` -> ``{"energies": {"insertions": 30000}}`` (values as JSON when they parse)."""
    settings = {}
    for name, value in _options(pairs).items():
        group, dot, argument = name.partition(".")
        if not (dot and group and argument):
            raise ConfigError(f"--descriptor-setting needs SET.ARG=VALUE (e.g. energies.insertions=30000), got {name!r}")
        settings.setdefault(group, {})[argument] = value
    return settings


def load_from_args(args, strict: bool = False, rebuild: bool = False):
    """The dataset that the parsed ``dataset_arguments`` describe, featurized as the flags say."""
    from molgnn.data.build import load_dataset, resolve_spec

    spec = resolve_spec(args.data, args.data_dir, options_from_args(args))
    featurizer = featurizer_from_args(args, spec.default_featurizer())
    return load_dataset(args.data, args.data_dir, featurizer, options_from_args(args), args.cache_dir,
                        args.workers, strict, progress=not args.json, rebuild=rebuild, wait=args.cache_wait)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--option needs KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def resume_hint(args) -> str:
    return "rerun the same command to resume the build from its finished chunks"


def run(args) -> int:
    from molgnn.featurize.crystal import CrystalFeaturizer
    from molgnn.featurize.molecule import MoleculeFeaturizer

    if args.smiles is not None:
        graph = featurizer_from_args(args, MoleculeFeaturizer())(args.smiles)
        print(graph)
        return 0
    if args.data is None:
        raise ConfigError("give DATA (dataset name, folder or file) or --smiles")
    if args.data.lower().endswith(".cif") and Path(args.data).is_file():
        graph = featurizer_from_args(args, CrystalFeaturizer.default())(args.data)
        print(graph)
        return 0
    dataset = load_from_args(args, args.strict, args.rebuild)
    summary = dataset.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    for key, value in summary.items():
        print(f"{key:24s} {value}")
    if dataset.rejects or dataset.excluded:
        print(f"{'report':24s} {Path(dataset.meta['cache_dir']) / 'rejects.csv'}")
        for record_id, reason in dataset.rejects[:5]:
            print(f"  rejected {record_id}: {reason}")
    return 0
