"""Parsing and chemistry: SMILES (RDKit), CIF files (gemmi), element tables, neighbour lists.

The only layer that imports RDKit, gemmi or pymatgen.
"""
