"""``molgnn datasets [NAME]``: list the registered datasets, or show one card."""

from __future__ import annotations

import textwrap

from molgnn.data.cards import get_card, list_cards


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="list registered datasets (sizes, tasks, licences) or show one")
    parser.add_argument("name", nargs="?", help="show this dataset's card in full")


def run(args) -> int:
    if args.name:
        card = get_card(args.name)
        print(f"{card.name}: {card.title}")
        for key in ("kind", "task", "size", "licence", "citation", "source"):
            print(textwrap.fill(f"{key}: {getattr(card, key)}", 100, subsequent_indent="    "))
        print(card.description.strip())
        print(f"loader: {card.loader}")
        return 0
    rows = [("name", "kind", "task", "size", "targets", "licence")]
    for card in list_cards():
        targets = card.loader.get("targets")
        count = str(len(targets)) if targets else {"crafted726": "by option", "hmof100": "5", "cgcnn_folder": "1"}.get(
            card.loader["type"], "all columns")
        rows.append((card.name, card.kind, card.task, str(card.size), count, _short(card.licence)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _short(licence: str, limit: int = 60) -> str:
    return licence if len(licence) <= limit else licence[: limit - 3] + "..."
