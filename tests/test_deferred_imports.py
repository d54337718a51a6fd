"""torch._dynamo stays unimported through molgnn's work, and is the real module for whoever uses it."""

import json
import subprocess
import sys

import pytest


def run_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_featurizing_and_a_model_forward_never_import_the_compiler():
    out = run_python(
        "import json, sys, torch, molgnn\n"
        "from torch_geometric.nn.models import AttentiveFP\n"
        "from molgnn.deferred_imports import is_deferred\n"
        "from molgnn.featurize.molecule import MoleculeFeaturizer\n"
        "featurizer = MoleculeFeaturizer()\n"
        "graph = featurizer.expand(featurizer('CC(=O)Oc1ccccc1C(=O)O'))\n"
        "model = AttentiveFP(graph.x.shape[1], 16, 1, graph.edge_attr.shape[1], num_layers=2, num_timesteps=2)\n"
        "y = model(graph.x, graph.edge_index, graph.edge_attr, torch.zeros(graph.num_nodes, dtype=torch.long))\n"
        "print(json.dumps({'deferred': is_deferred(), 'finite': bool(torch.isfinite(y).all()),\n"
        "                  'submodules': [m for m in sys.modules if m.startswith('torch._dynamo.')]}))")
    assert out == {"deferred": True, "finite": True, "submodules": []}


@pytest.mark.slow
def test_the_first_use_imports_the_real_compiler():
    out = run_python(
        "import json, sys, torch, molgnn, torch_geometric\n"
        "from molgnn.deferred_imports import is_deferred\n"
        "before = is_deferred()\n"
        "import torch._dynamo\n"  # an import statement alone still finds the placeholder
        "still = is_deferred()\n"
        "linear = torch.nn.Linear(3, 2)\n"
        "compiled = torch.compile(linear, backend='eager')\n"
        "x = torch.arange(6.0).reshape(2, 3)\n"
        "same = bool(torch.equal(compiled(x), linear(x)))\n"
        "real = sys.modules['torch._dynamo']\n"
        "print(json.dumps({'before': before, 'still': still, 'after': is_deferred(), 'same': same,\n"
        "                  'optimized': isinstance(compiled, torch._dynamo.OptimizedModule),\n"
        "                  'one_module': torch._dynamo is real and torch_geometric.is_torch_instance(compiled, torch.nn.Linear)}))")
    assert out == {"before": True, "still": True, "after": False, "same": True, "optimized": True, "one_module": True}


def test_an_already_imported_compiler_is_left_alone():
    out = run_python("import json, sys, torch._dynamo, molgnn\n"
                     "from molgnn.deferred_imports import is_deferred\n"
                     "print(json.dumps({'deferred': is_deferred(), 'real': hasattr(sys.modules['torch._dynamo'], 'optimize')}))")
    assert out == {"deferred": False, "real": True}
