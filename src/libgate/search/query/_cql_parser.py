"""CQL 1.2 for libgate's own SRU server: the supported subset, as a Query, or the SRU
diagnostic that says what is not supported.

Supported: indexes cql.serverChoice / cql.anywhere / cql.keywords (any word), dc.title,
dc.creator, dc.subject, bath.isbn and unqualified title, author, subject, isbn; relations
``=``, ``==``, ``adj``, ``exact`` (the words as a phrase, as Zebra reads ``=``), ``all`` (every
word) and ``any`` (one word or another); the relation modifier ``relevant`` (results are
always ranked by relevance); and, or, not. Prefix assignments are refused (48), ``sortby``
too (80): libgate would otherwise answer in an order the client did not ask for.
"""

from __future__ import annotations

from typing import Literal

from libgate.search.query._ast import Boolean, Field, Query, Term
from libgate.search.query._build import fold, leaves, make_term
from libgate.search.query._cql_errors import (
    ANCHORING,
    EMPTY_TERM,
    MASKING,
    SORT_NOT_SUPPORTED,
    TOO_MANY_BOOLEANS,
    UNSUPPORTED_BOOLEAN,
    UNSUPPORTED_BOOLEAN_MODIFIER,
    UNSUPPORTED_CONTEXT_SET,
    UNSUPPORTED_FEATURE,
    UNSUPPORTED_INDEX,
    UNSUPPORTED_RELATION,
    UNSUPPORTED_RELATION_MODIFIER,
    CqlError,
)
from libgate.search.query._cql_syntax import MAX_BOOLEANS, Clause, Node, parse_syntax

_INDEXES: dict[str, Field] = {
    "": "any",
    "cql.serverchoice": "any",
    "cql.anywhere": "any",
    "cql.keywords": "any",
    "dc.title": "title",
    "dc.creator": "author",
    "dc.subject": "subject",
    "bath.isbn": "isbn",
    "title": "title",
    "author": "author",
    "subject": "subject",
    "isbn": "isbn",
}
_BOOLEANS: dict[str, Literal["and", "or", "not"]] = {"and": "and", "or": "or", "not": "not"}
_CONTEXT_SETS = frozenset({"cql", "dc", "bath"})
_PHRASE_RELATIONS = frozenset({"=", "==", "adj", "exact"})
_RELATION_MODIFIERS = frozenset({"relevant", "cql.relevant"})


def parse_cql(text: str) -> Query:
    """The Query for CQL ``text``. Raises CqlError (with its SRU diagnostic), nothing else."""
    parsed = parse_syntax(text)
    if parsed.prefixes:
        raise CqlError.of(UNSUPPORTED_FEATURE, "context set prefix assignments (>)")
    if parsed.sorted:
        raise CqlError.of(SORT_NOT_SUPPORTED, "sortby")
    query = _convert(parsed.node)
    # "any" adds a boolean between each of its words; every consumer walks the tree.
    if len(leaves(query)) - 1 > MAX_BOOLEANS:
        raise CqlError.of(TOO_MANY_BOOLEANS, f"the most is {MAX_BOOLEANS}")
    return query


def _convert(node: Node) -> Query:
    # Recursion is bounded: the syntax parser limits brackets and boolean operators.
    if isinstance(node, Clause):
        return _clause(node)
    op = _BOOLEANS.get(node.op)
    if op is None:
        raise CqlError.of(UNSUPPORTED_BOOLEAN, node.op)
    if node.modifiers:
        raise CqlError.of(UNSUPPORTED_BOOLEAN_MODIFIER, node.modifiers[0].name)
    return Boolean(op, _convert(node.left), _convert(node.right))


def _clause(clause: Clause) -> Query:
    field = _field(clause.index)
    relation = clause.relation.removeprefix("cql.")
    if relation not in _PHRASE_RELATIONS | {"all", "any"}:
        raise CqlError.of(UNSUPPORTED_RELATION, clause.relation)
    for modifier in clause.modifiers:
        if modifier.name not in _RELATION_MODIFIERS:
            raise CqlError.of(UNSUPPORTED_RELATION_MODIFIER, modifier.name)
    words = _unescape(clause.term).split()
    if not words:
        raise CqlError.of(EMPTY_TERM)
    if relation == "any":
        return fold("or", [Term(word, field) for word in words])
    term = make_term(words, field, phrase=relation in _PHRASE_RELATIONS)
    assert term is not None  # words is not empty
    return term


def _field(index: str) -> Field:
    name = index.lower()
    if name in _INDEXES:
        return _INDEXES[name]
    prefix, dot, _ = name.partition(".")
    if dot and prefix not in _CONTEXT_SETS:
        raise CqlError.of(UNSUPPORTED_CONTEXT_SET, prefix)
    raise CqlError.of(UNSUPPORTED_INDEX, index)


def _unescape(term: str) -> str:
    """The term's characters, refusing unescaped masking (``*`` ``?``) and anchoring (``^``)."""
    characters: list[str] = []
    escaped = False
    for char in term:
        if escaped:
            characters.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            raise CqlError.of(MASKING, term)
        elif char == "^":
            raise CqlError.of(ANCHORING, term)
        else:
            characters.append(char)
    if escaped:
        characters.append("\\")  # a lone backslash at the end stands for itself
    return "".join(characters)
