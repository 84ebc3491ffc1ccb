"""The search box's language: words, "phrases", field prefixes, AND / OR / NOT, brackets.

Lenient where a resident would expect it (an unclosed quote or bracket closes at the end, an
unknown prefix is part of the word, a dangling operator is dropped); strict only where no
sensible search is left.
"""

from __future__ import annotations

from libgate.search.query._ast import Boolean, Field, Query, Term
from libgate.search.query._build import fold, leaves, make_term
from libgate.search.query._lex import Token, clean, tokenise

MAX_CHARACTERS = 1000
MAX_WORDS = 50
MAX_DEPTH = 10


class QuerySyntaxError(ValueError):
    """A search that cannot be run; the message is meant for the resident."""


def parse(text: str) -> Query:
    """The query typed in the search box. Raises QuerySyntaxError, and nothing else."""
    if len(text) > MAX_CHARACTERS:
        raise QuerySyntaxError(
            f"The search is too long ({len(text):,} characters); "
            f"please keep it under {MAX_CHARACTERS:,}."
        )
    query = _Parser(tokenise(clean(text))).parse()
    if query is None:
        raise QuerySyntaxError("Type a word or two to search for.")
    words = sum(len(term.words.split()) for term in leaves(query))
    if words > MAX_WORDS:
        raise QuerySyntaxError(
            f"The search has too many words ({words}); please use at most {MAX_WORDS}."
        )
    return query


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def parse(self) -> Query | None:
        parts: list[Query] = []
        while True:
            part = self._any_of("any", 0)
            if part is not None:
                parts.append(part)
            if self._peek() is None:
                break
            self._at += 1  # a closing bracket that nothing opened
        return fold("and", parts) if parts else None

    def _peek(self) -> Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _any_of(self, field: Field, depth: int) -> Query | None:
        """``a OR b OR ...``: stops before a closing bracket or at the end."""
        parts: list[Query] = []
        while True:
            part = self._all_of(field, depth)
            if part is not None:
                parts.append(part)
            token = self._peek()
            if token is None or token.kind == "close":
                return fold("or", parts) if parts else None
            self._at += 1  # OR

    def _all_of(self, field: Field, depth: int) -> Query | None:
        """Items joined by AND (or nothing), NOT marking the next item as one to leave out."""
        wanted: list[Query] = []
        unwanted: list[Query] = []
        negate = False
        # Words typed side by side in one field become one Term ("war and peace").
        joinable = False
        while (token := self._peek()) is not None and token.kind not in ("or", "close"):
            self._at += 1
            if token.kind in ("and", "not"):
                negate = negate or token.kind == "not"
                joinable = False
                continue
            item = self._item(token, field, depth)
            if item is None:
                continue
            if negate:
                unwanted.append(item)
            elif joinable and token.kind == "word" and (joined := _join(wanted[-1], item)):
                wanted[-1] = joined
            else:
                wanted.append(item)
            joinable = not negate and token.kind == "word"
            negate = False
        if unwanted and not wanted:
            raise QuerySyntaxError(
                "NOT leaves words out, so it needs something to search for as well, "
                "for example: cats NOT dogs."
            )
        if not wanted:
            return None
        result = fold("and", wanted)
        for item in unwanted:
            result = Boolean("not", result, item)
        return result

    def _item(self, token: Token, field: Field, depth: int) -> Query | None:
        if token.kind == "word":
            return Term(token.text, field)
        if token.kind == "phrase":
            return make_term(token.text.split(), field, phrase=True)
        if token.kind == "field":
            following = self._peek()
            if following is None or following.kind not in ("word", "phrase", "open"):
                return None  # a prefix with nothing after it
            self._at += 1
            return self._item(following, _as_field(token.text), depth)
        # an opening bracket
        if depth >= MAX_DEPTH:
            raise QuerySyntaxError(
                f"The search has too many brackets inside brackets; the most is {MAX_DEPTH}."
            )
        inner = self._any_of(field, depth + 1)
        if self._peek() is not None:
            self._at += 1  # its closing bracket (an unclosed one closes at the end)
        return inner


def _join(previous: Query, item: Query) -> Term | None:
    """One Term for two plain words (or runs of words) side by side in the same field."""
    if (
        isinstance(previous, Term)
        and isinstance(item, Term)
        and not previous.phrase
        and not item.phrase
        and previous.field == item.field
    ):
        return Term(f"{previous.words} {item.words}", previous.field)
    return None


_FIELD_NAMES: dict[str, Field] = {
    "any": "any",
    "title": "title",
    "author": "author",
    "subject": "subject",
    "isbn": "isbn",
}


def _as_field(name: str) -> Field:
    return _FIELD_NAMES.get(name, "any")
