import json

from molgnn.cli import main
from molgnn.models import MODELS


def test_models_lists_every_registered_model(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    lines = lines[lines.index("architectures (molgnn train --model NAME):") + 1:]
    assert lines[0].split() == ["name", "kind", "requires", "summary"]
    assert [line.split()[0] for line in lines[1:]] == list(MODELS)
    assert any(line.split()[:3] == ["hybrid", "molecules", "fingerprint"] for line in lines)


def test_one_model_shows_its_arguments_and_defaults(capsys):
    assert main(["models", "hybrid", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["arguments"]["fp_hidden"] == 256 and described["requires"] == ["fingerprint"]
    assert described["data_arguments"] == ["node_dim", "edge_dim", "out_dim", "fp_dim"]
    assert main(["models", "edge_attention_charge"]) == 0
    out = capsys.readouterr().out
    assert "fixed: {'edge_update': True, 'attention': True, 'charge': True, 'descriptors': False}" in out and "  heads = 4" in out
    assert main(["models", "cgcn"]) == 2
    assert "unknown model 'cgcn'; registered: cgcnn" in capsys.readouterr().err
