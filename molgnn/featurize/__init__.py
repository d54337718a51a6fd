"""Featurizers: small configurable dataclasses that turn one parsed input into one graph.

Every featurizer keeps the contract of ``base.Featurizer`` (kind, ``featurize_many``, config,
chunk size, the optional parts its graphs carry); ``registry`` finds one by config, kind or record.

Graph schema (``torch_geometric.data.Data``), shared by every featurizer:

=============  ==================  =====================================================
attribute      shape / dtype       meaning
=============  ==================  =====================================================
x              [N, F] float32      node features (``featurizer.atom_feature_names``)
z              [N] int64           atomic numbers (0 for an RDKit dummy atom ``*``)
edge_index     [2, E] int64        ``edge_index[0]`` = source (neighbour), ``[1]`` = target
edge_attr      [E, D] float32      edge features (``featurizer.edge_feature_names``)
charge         [N] float32         partial charges, when the featurizer is asked for them
fp             [1, B] uint8        Morgan fingerprint bits (molecules, optional)
pos            [N, 3] float32      Cartesian positions, Å (crystals)
lattice        [1, 3, 3] float32   lattice vectors as rows, Å (crystals)
pbc_offset     [E, 3] int64        image of the source atom: its position is
                                   ``pos[src] + pbc_offset @ lattice`` (crystals)
edge_dist      [E] float32         edge length, Å (crystals)
y              [1, T] float32      targets, NaN where missing (added by datasets)
y_mask         [1, T] bool         True where the target is observed (added by datasets)
id             str                 the record id (SMILES, file stem or dataset id)
smiles         str                 the input SMILES (molecules)
=============  ==================  =====================================================

Molecule edges come in pairs: edge ``2k`` and ``2k + 1`` are the two directions of bond ``k``.
"""
