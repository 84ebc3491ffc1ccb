"""The one query model every target's query language is made from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Fields a resident can name; "any" is a bare word.
FIELDS = ("any", "title", "author", "subject", "isbn")
Field = Literal["any", "title", "author", "subject", "isbn"]


@dataclass(frozen=True, slots=True)
class Term:
    """Words to find in a field. ``phrase``: the words together, in this order."""

    words: str
    field: Field = "any"
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class Boolean:
    """``left AND right``, ``left OR right``, or ``left NOT right`` (left but not right)."""

    op: Literal["and", "or", "not"]
    left: Query
    right: Query


Query = Term | Boolean
