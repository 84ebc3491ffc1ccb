"""What a translation to a target's query language gives: the text and what was lost."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from libgate.search.query._ast import Field


@dataclass(frozen=True, slots=True)
class Translation:
    """A query in a target's language, with plain-words notes on what it could not ask."""

    text: str
    diagnostics: tuple[str, ...] = ()


class FieldNames:
    """Looks fields up in a target's mapping, noting each field searched as any word instead."""

    def __init__(self, mapping: Mapping[str, str], fallback: str, valid: re.Pattern[str]) -> None:
        self._mapping = mapping
        self._fallback = fallback
        self._valid = valid
        self.notes: list[str] = []

    def __getitem__(self, field: Field) -> str:
        name = self._mapping.get(field, "").strip()
        if self._valid.fullmatch(name):
            return name
        if field != "any":
            note = f"{field} searches are not supported here; searched as any word"
            if note not in self.notes:
                self.notes.append(note)
        return self["any"] if field != "any" else self._fallback

    def translation(self, text: str) -> Translation:
        return Translation(text, tuple(self.notes))
