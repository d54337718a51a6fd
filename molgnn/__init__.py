"""molgnn: graph neural networks for molecules and porous crystals.

The package is layered (see ARCHITECTURE in the README): ``chem`` parses SMILES and CIF files,
``featurize`` turns parsed inputs into ``torch_geometric.data.Data`` graphs, ``data`` builds,
caches and registers datasets, and ``cli`` exposes it all as the ``molgnn`` command.
Importing the package does no work: submodules are imported where they are used, and torch's
compiler, which torch_geometric would import eagerly, only when something uses it
(``molgnn.deferred_imports``).
"""

from molgnn.deferred_imports import defer_torch_dynamo

__version__ = "0.1.0"
defer_torch_dynamo()
