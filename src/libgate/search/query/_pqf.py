"""The query as PQF with bib-1 attributes, for Z39.50 targets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from libgate.search.query._ast import Query, Term
from libgate.search.query._translation import FieldNames, Translation

BIB1_ATTRIBUTES: Mapping[str, str] = MappingProxyType(
    {"any": "1016", "title": "4", "author": "1003", "subject": "21", "isbn": "7"}
)

_USE_ATTRIBUTE = re.compile(r"\d+")
_PHRASE = "@attr 4=1"
_WORD = "@attr 4=2"


def to_pqf(query: Query, attributes: Mapping[str, str]) -> Translation:
    """``query`` in PQF, fields given bib-1 use attributes from ``attributes`` (field -> "4")."""
    names = FieldNames(attributes, "1016", _USE_ATTRIBUTE)
    return names.translation(_render(query, names))


def _render(query: Query, names: FieldNames) -> str:
    if isinstance(query, Term):
        return _term(query, names)
    return f"@{query.op} {_render(query.left, names)} {_render(query.right, names)}"


def _term(term: Term, names: FieldNames) -> str:
    use = f"@attr 1={names[term.field]}"
    words = term.words.split() or [""]
    if term.phrase and len(words) > 1:
        return f"{use} {_PHRASE} {_quote(' '.join(words))}"
    clauses = [f"{use} {_WORD} {_quote(word)}" for word in words]
    # Several words: every one of them, as a left-leaning chain of @and.
    return "@and " * (len(clauses) - 1) + " ".join(clauses)


def _quote(text: str) -> str:
    # YAZ's PQF reader takes a backslash as escaping the next character, inside quotes too.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
