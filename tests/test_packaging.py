"""The wheel must ship every subpackage: setup.cfg lists them explicitly (the cards need a mapping)."""

import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "molgnn").rglob("__init__.py")}
    assert found | {"molgnn.cards", "molgnn.model_files"} == listed


def test_importing_the_package_imports_no_heavy_library():
    import subprocess
    import sys

    # nor does a campaign's simulation worker before its first simulation: it imports the tasks module only
    for module in ("molgnn", "molgnn.campaign.tasks"):
        code = (f"import sys, {module}; from molgnn.deferred_imports import is_deferred; "  # a deferred module is not imported
                "print([m for m in sys.modules if m.split('.')[0] in ('torch', 'rdkit', 'pymatgen', 'gemmi') and not is_deferred(m)])")
        assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
