"""CQL 1.2 syntax: text to a tree of clauses and booleans, as written (nothing checked
against what libgate supports; that is ``_cql_parser``'s job)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from libgate.search.query._cql_errors import (
    PARENTHESES,
    QUERY_SYNTAX_ERROR,
    TOO_MANY_BOOLEANS,
    TOO_MANY_CHARACTERS,
    CqlError,
)

MAX_CHARACTERS = 4000
MAX_DEPTH = 20
MAX_BOOLEANS = 100

BOOLEANS = frozenset({"and", "or", "not", "prox"})
_SYMBOLS = ("==", "<=", ">=", "<>", "=", "<", ">", "(", ")", "/")
_WORD_ENDS = frozenset(' \t\r\n()=<>"/')


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["word", "quoted", "symbol"]
    # Words and quoted strings keep their backslash escapes: masking depends on them.
    text: str


@dataclass(frozen=True, slots=True)
class Modifier:
    name: str
    comparator: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Clause:
    """``index relation term``; a bare term has index "" and relation "="."""

    index: str
    relation: str
    modifiers: tuple[Modifier, ...]
    term: str


@dataclass(frozen=True, slots=True)
class Combined:
    op: str
    modifiers: tuple[Modifier, ...]
    left: Node
    right: Node


Node = Clause | Combined


@dataclass(frozen=True, slots=True)
class Parsed:
    node: Node
    prefixes: bool
    sorted: bool


def syntax_error(details: str) -> CqlError:
    return CqlError.of(QUERY_SYNTAX_ERROR, details)


def parse_syntax(text: str) -> Parsed:
    """The tree of ``text``; CqlError 10 (syntax), 12 (length), 13 (nesting), 38 (size)."""
    if len(text) > MAX_CHARACTERS:
        raise CqlError.of(TOO_MANY_CHARACTERS, f"the most is {MAX_CHARACTERS}")
    return _Parser(_tokenise(text)).parse()


def _tokenise(text: str) -> list[Token]:
    tokens: list[Token] = []
    end = len(text)
    i = 0
    while i < end:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"':
            i = _quoted(text, i + 1, tokens)
        elif symbol := next((s for s in _SYMBOLS if text.startswith(s, i)), None):
            tokens.append(Token("symbol", symbol))
            i += len(symbol)
        else:
            start = i
            while i < end and text[i] not in _WORD_ENDS and not text[i].isspace():
                i += 2 if text[i] == "\\" else 1
            tokens.append(Token("word", text[start : min(i, end)]))
    return tokens


def _quoted(text: str, start: int, tokens: list[Token]) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            tokens.append(Token("quoted", text[start:i]))
            return i + 1
        else:
            i += 1
    raise syntax_error("a quoted term is not closed")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0
        self._booleans = 0
        self._prefixes = False

    def parse(self) -> Parsed:
        node = self._query(0)
        sorted_ = self._keyword("sortby")
        if sorted_:
            self._sort_keys()
        if self._at < len(self._tokens):
            raise syntax_error(f"unexpected {self._describe()}")
        return Parsed(node, self._prefixes, bool(sorted_))

    def _peek(self) -> Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _describe(self) -> str:
        token = self._peek()
        return "end of query" if token is None else repr(token.text)

    def _symbol(self, *symbols: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind == "symbol" and token.text in symbols:
            self._at += 1
            return token.text
        return None

    def _keyword(self, *words: str) -> str:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self._at += 1
            return token.text.lower()
        return ""

    def _identifier(self, what: str) -> str:
        token = self._peek()
        if token is None or token.kind == "symbol":
            raise syntax_error(f"expected {what}, found {self._describe()}")
        self._at += 1
        return token.text

    def _query(self, depth: int) -> Node:
        while self._symbol(">"):
            self._prefixes = True
            self._identifier("a context set prefix or address")
            if self._symbol("="):
                self._identifier("a context set address")
        return self._scoped_clause(depth)

    def _scoped_clause(self, depth: int) -> Node:
        node = self._search_clause(depth)
        while op := self._keyword(*BOOLEANS):
            self._booleans += 1
            if self._booleans > MAX_BOOLEANS:
                raise CqlError.of(TOO_MANY_BOOLEANS, f"the most is {MAX_BOOLEANS}")
            modifiers = self._modifiers()
            node = Combined(op, modifiers, node, self._search_clause(depth))
        return node

    def _search_clause(self, depth: int) -> Node:
        if self._symbol("("):
            if depth >= MAX_DEPTH:
                raise CqlError.of(PARENTHESES, f"more than {MAX_DEPTH} levels of brackets")
            node = self._query(depth + 1)
            if not self._symbol(")"):
                raise syntax_error(f"expected ')', found {self._describe()}")
            return node
        first = self._identifier("a search term")
        relation = self._relation()
        if not relation:
            return Clause("", "=", (), first)
        modifiers = self._modifiers()
        return Clause(first, relation, modifiers, self._identifier("a search term"))

    def _relation(self) -> str:
        symbol = self._symbol("==", "<=", ">=", "<>", "=", "<", ">")
        if symbol:
            return symbol
        token = self._peek()
        if token is None or token.kind != "word" or token.text.lower() in BOOLEANS | {"sortby"}:
            return ""
        self._at += 1
        return token.text.lower()

    def _modifiers(self) -> tuple[Modifier, ...]:
        found: list[Modifier] = []
        while self._symbol("/"):
            name = self._identifier("a modifier name").lower()
            comparator = self._symbol("==", "<=", ">=", "<>", "=", "<", ">") or ""
            value = self._identifier("a modifier value") if comparator else ""
            found.append(Modifier(name, comparator, value))
        return tuple(found)

    def _sort_keys(self) -> None:
        self._identifier("an index to sort by")
        self._modifiers()
        while self._peek() is not None:
            self._identifier("an index to sort by")
            self._modifiers()
