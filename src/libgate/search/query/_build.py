"""Small constructors both query parsers share, so they build identical trees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from libgate.search.query._ast import Boolean, Field, Query, Term


def make_term(words: Sequence[str], field: Field, *, phrase: bool) -> Term | None:
    """A Term from words, or None for no words. A one-word phrase is just a word."""
    if not words:
        return None
    return Term(" ".join(words), field, phrase and len(words) > 1)


def fold(op: Literal["and", "or"], parts: Sequence[Query]) -> Query:
    """``parts`` joined left to right by ``op``; needs at least one part."""
    result = parts[0]
    for part in parts[1:]:
        result = Boolean(op, result, part)
    return result


def leaves(query: Query) -> list[Term]:
    """Every Term in ``query``, left to right, without recursion (trees can be deep)."""
    found: list[Term] = []
    stack: list[Query] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, Term):
            found.append(node)
        else:
            stack.extend((node.right, node.left))
    return found
