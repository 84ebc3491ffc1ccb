"""Splits the search box's text into words, phrases, field prefixes, operators and brackets."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from libgate.search.query._ast import FIELDS

# Text pasted from word processors brings typographic quotes; treat them as quotes.
QUOTES = frozenset('"\u201c\u201d\u201e\u201f')
_BREAKS = QUOTES | {"(", ")"}

Kind = Literal["word", "phrase", "field", "and", "or", "not", "open", "close"]
# Only upper-case words are operators, so a title like "war and peace" stays words.
_OPERATORS: dict[str, Kind] = {"AND": "and", "OR": "or", "NOT": "not"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str = ""


def clean(text: str) -> str:
    """NFC text with control characters and lone surrogates turned into spaces."""
    spaced = "".join(" " if unicodedata.category(char) in ("Cc", "Cs") else char for char in text)
    return unicodedata.normalize("NFC", spaced)


def tokenise(text: str) -> list[Token]:
    """The tokens of ``text`` (already cleaned). Never fails: every string has tokens."""
    tokens: list[Token] = []
    end = len(text)
    i = 0
    while i < end:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token("open" if char == "(" else "close"))
            i += 1
        elif char in QUOTES:
            close = _find_quote(text, i + 1)
            tokens.append(Token("phrase", text[i + 1 : close]))
            i = close + 1
        else:
            start = i
            while i < end and not text[i].isspace() and text[i] not in _BREAKS:
                i += 1
            tokens.extend(_word_tokens(text[start:i]))
    return tokens


def _find_quote(text: str, start: int) -> int:
    # An unclosed quote runs to the end of the text.
    for i in range(start, len(text)):
        if text[i] in QUOTES:
            return i
    return len(text)


def _word_tokens(word: str) -> list[Token]:
    if word in _OPERATORS:
        return [Token(_OPERATORS[word])]
    prefix, colon, rest = word.partition(":")
    if colon and prefix.lower() in FIELDS:
        field = Token("field", prefix.lower())
        return [field, Token("word", rest)] if rest else [field]
    return [Token("word", word)]
