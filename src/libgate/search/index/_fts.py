"""The query model in SQLite FTS5's query language. Users never write FTS5 syntax: only
runs of letters and digits from their words reach the index, each inside double quotes,
so operators, column names, ``*``, ``^`` or ``NEAR(`` in a search are just words."""

from __future__ import annotations

import re

from libgate.search.query import Boolean, Query, Term
from libgate.search.records import normalise_isbn

# The index's columns and how much a match in each counts (BM25 weights): a word in the
# title says more about what a book is than the same word in a subject or publisher.
WEIGHTS = {"title": 10.0, "author": 5.0, "subject": 3.0, "isbn": 1.0, "other": 1.0}
COLUMNS = tuple(WEIGHTS)

# What FTS5's unicode61 tokenizer treats as a word: letters and digits; everything else
# (quotes, operators, punctuation, underscores) separates words.
_WORD = re.compile(r"[^\W_]+")


def match_expression(query: Query) -> str | None:
    """The FTS5 MATCH text for ``query``; None when nothing can match (a term with no
    words, an ISBN search for something that is not an ISBN)."""
    if isinstance(query, Term):
        return _term(query)
    return _boolean(query)


def _boolean(query: Boolean) -> str | None:
    left = match_expression(query.left)
    right = match_expression(query.right)
    if query.op == "and":
        return None if left is None or right is None else f"({left}) AND ({right})"
    if query.op == "or":
        if left is None or right is None:
            return left or right
        return f"({left}) OR ({right})"
    if left is None or right is None:  # "not": nothing left, or nothing to take away
        return left
    return f"({left}) NOT ({right})"


def _term(term: Term) -> str | None:
    isbn = normalise_isbn(term.words)
    if term.field == "isbn":
        return f'isbn : "{isbn}"' if isbn else None
    words = _WORD.findall(term.words)
    if not words:
        return None
    if term.phrase:
        found = '"' + " ".join(words) + '"'
    else:
        found = " AND ".join(f'"{word}"' for word in words)
    if term.field != "any":
        return f"{term.field} : ({found})"
    # An ISBN typed as a bare word ("0-19-852663-6") is split into numbers by the
    # tokenizer; the index holds ISBN-13s, so look for that too.
    return f'({found}) OR isbn : "{isbn}"' if isbn else found
