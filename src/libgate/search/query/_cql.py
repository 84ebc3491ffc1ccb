"""The query as CQL 1.2, for SRU targets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from libgate.search.query._ast import Query, Term
from libgate.search.query._translation import FieldNames, Translation

STANDARD_CQL_INDEXES: Mapping[str, str] = MappingProxyType(
    {
        "any": "cql.serverChoice",
        "title": "dc.title",
        "author": "dc.creator",
        "subject": "dc.subject",
        "isbn": "bath.isbn",
    }
)

# A CQL index name: an optional context-set prefix and a name, no characters CQL reserves.
_INDEX_NAME = re.compile(r"[A-Za-z][\w-]*(\.[A-Za-z][\w-]*)?")
# Inside a quoted CQL term these mean masking, anchoring or quoting unless escaped.
_SPECIAL = re.compile(r'([\\"*?^])')


def to_cql(query: Query, indexes: Mapping[str, str]) -> Translation:
    """``query`` in CQL, with fields named as in ``indexes`` (field -> CQL index)."""
    names = FieldNames(indexes, "cql.serverChoice", _INDEX_NAME)
    return names.translation(_render(query, names))


def _render(query: Query, names: FieldNames) -> str:
    if isinstance(query, Term):
        return _clause(query, names)
    # CQL booleans are equally strong and group to the left, so only a boolean on the right
    # needs brackets; a different boolean on the left gets them too, for people reading it.
    left = _render(query.left, names)
    if not isinstance(query.left, Term) and query.left.op != query.op:
        left = f"({left})"
    right = _render(query.right, names)
    if not isinstance(query.right, Term):
        right = f"({right})"
    return f"{left} {query.op} {right}"


def _clause(term: Term, names: FieldNames) -> str:
    words = term.words.split()
    quoted = '"' + _SPECIAL.sub(r"\\\1", " ".join(words)) + '"'
    # Zebra (yaz's cql-to-rpn) reads "=" with several words as a phrase and rejects "adj";
    # "all" is every word anywhere in the field.
    relation = "all" if len(words) > 1 and not term.phrase else "="
    spacer = " " if relation == "all" else ""
    return f"{names[term.field]}{spacer}{relation}{spacer}{quoted}"
