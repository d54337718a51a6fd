"""Hypothesis strategies that mutate real inputs: the dirty and hostile variants of a SMILES, a CIF or a CSV."""

from hypothesis import strategies as st

# characters that matter to the formats (brackets, digits, signs, quotes, separators, whitespace) and a few odd ones
ALPHABET = "CNOSPFIclnos()[]=#@+-/\\%0123456789.,;:'\"_ \t\n\r\x00\ufeff*?XxZz"


@st.composite
def mutated(draw, texts: list[str], max_edits: int = 4) -> str:
    """One of ``texts`` after up to ``max_edits`` edits: a deleted, repeated or replaced span, inserted characters,
    or a cut at any point."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(0, max_edits))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        edit = draw(st.sampled_from(["delete", "repeat", "replace", "insert", "cut"]))
        if edit == "delete":
            text = text[:start] + text[end:]
        elif edit == "repeat":
            text = text[:end] + text[start:end] * draw(st.integers(1, 3)) + text[end:]
        elif edit == "replace":
            text = text[:start] + draw(st.text(ALPHABET, max_size=8)) + text[end:]
        elif edit == "insert":
            text = text[:start] + draw(st.text(ALPHABET, min_size=1, max_size=8)) + text[start:]
        else:
            text = text[:start]
    return text
