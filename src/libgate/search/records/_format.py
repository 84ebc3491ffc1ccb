"""Which of FORMATS a MARC record describes, from the leader's type of record and
bibliographic level, with the physical-description fields to tell e-books from print."""

from __future__ import annotations

import pymarc

# Leader/06 (type of record) for everything but language material, which needs more care.
_BY_TYPE = {
    "i": "audiobook",  # nonmusical sound recording
    "j": "music",  # musical sound recording
    "c": "music",  # notated music
    "d": "music",  # manuscript notated music
    "g": "video",  # projected medium
    "e": "map",  # cartographic material
    "f": "map",  # manuscript cartographic material
}
_LANGUAGE_MATERIAL = ("a", "t")
_SERIAL_LEVELS = ("s", "i")  # serial, integrating resource
_ELECTRONIC_FORMS = ("o", "q", "s")  # 008/23 form of item: online, direct, electronic


def marc_format(marc: pymarc.Record) -> str:
    """One of FORMATS for ``marc``."""
    leader = str(marc.leader)
    kind, level = leader[6:7], leader[7:8]
    if kind == "m":  # computer file: an e-book only when 008/26 says it is a document
        fixed = marc.get("008")
        return "ebook" if fixed is not None and (fixed.data or "")[26:27] == "d" else "other"
    if kind not in _LANGUAGE_MATERIAL:
        return _BY_TYPE.get(kind, "other")
    if level in _SERIAL_LEVELS:
        return "serial"
    return "ebook" if _is_electronic(marc) else "book"


def _is_electronic(marc: pymarc.Record) -> bool:
    # Strongest evidence first. A 007 alone is weak: the Library of Congress, for one, adds
    # "cr" to print records to describe the digitised copy it also holds.
    if any("electronic" in h.lower() for f in marc.get_fields("245") for h in f.get_subfields("h")):
        return True
    carriers = [v.lower() for f in marc.get_fields("337", "338") for v in f.get_subfields("a")]
    if carriers:
        return any(v.startswith(("computer", "online resource")) for v in carriers)
    fixed = marc.get("008")
    form = (fixed.data or "")[23:24] if fixed is not None else ""
    if form not in ("", "|"):
        return form in _ELECTRONIC_FORMS
    return any((f.data or "")[:1] == "c" for f in marc.get_fields("007"))
