"""The words a query looks for, for ranking what came back."""

from __future__ import annotations

import re

from libgate.search.query._ast import Query, Term

_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def terms(query: Query) -> list[tuple[str, str]]:
    """(field, lower-cased word) for each word the query wants, in order, repeats kept
    (the ranker matches whole titles: "Tora! Tora! Tora!").

    Words on the right of NOT are left out; phrases give their words; punctuation at a word's
    ends is dropped ("hobbit," -> "hobbit"), inside it kept ("o'brien", "0-261-10328-3").
    """
    found: list[tuple[str, str]] = []
    stack: list[Query] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, Term):
            for word in node.words.split():
                bare = _EDGE_PUNCTUATION.sub("", word.lower())
                if bare:
                    found.append((node.field, bare))
        elif node.op == "not":
            stack.append(node.left)
        else:
            stack.extend((node.right, node.left))
    return found
