import gzip

import pandas as pd
import pytest

from molgnn.data.cards import UnknownDatasetError, get_card, list_cards

REQUIRED = {"sider", "tox21", "clintox", "toxcast", "qm8", "qm9_subset_499", "delaney", "freesolv", "lipo", "hiv", "muv",
            "crafted726", "hmof100", "cgcnn_sample"}


def test_every_required_set_is_registered_with_a_complete_card():
    cards = {card.name: card for card in list_cards()}
    assert REQUIRED <= set(cards)
    for card in cards.values():
        assert card.licence and card.citation and card.source and card.description.strip() and card.size > 0


def test_card_sizes_and_columns_match_the_files(data_dir):
    for card in list_cards():
        path = data_dir / card.loader["path"]
        assert path.exists(), card.name
        if card.loader["type"] == "smiles_csv":
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                frame = pd.read_csv(handle, dtype=str)
            assert len(frame) == card.size, card.name
            columns = card.loader.get("columns", list(frame.columns))
            assert set(card.loader.get("targets", [])) <= set(columns), card.name
        elif card.loader["type"] == "cgcnn_folder":
            assert len(list(path.glob("*.cif"))) == card.size
        else:
            assert len(list((path / "cif").rglob("*.cif"))) in (card.size, 3 * card.size), card.name


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(UnknownDatasetError, match="registered: .*tox21"):
        get_card("tox22")
