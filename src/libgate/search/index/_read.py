"""Reading MARC 21 files as staff export them from an LMS: ISO 2709 (binary) or MARCXML,
told apart by their first bytes. A damaged record is reported with where it is and
skipped; the rest of the file is still read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pymarc
from lxml import etree

from libgate.search.records import MARC_NS, marc_from_marcxml

_END_OF_RECORD = 0x1D
_LEADER_LENGTH = 24
_CHUNK = 1 << 20
_PEEK = 4096
_BOM = b"\xef\xbb\xbf"
_RECORD_TAGS = (f"{{{MARC_NS}}}record", "record")
_PYMARC_ERRORS = (pymarc.exceptions.PymarcException, ValueError, IndexError, UnicodeError)


class NotMarc(ValueError):
    """The file is neither MARC 21 (ISO 2709) nor MARCXML, or cannot be read safely."""


@dataclass(frozen=True, slots=True)
class Raw:
    """An ISO 2709 record as it is in the file, not yet parsed."""

    position: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Parsed:
    """A readable record. ``raw``: its ISO 2709 bytes, UTF-8."""

    position: str
    marc: pymarc.Record
    raw: bytes


@dataclass(frozen=True, slots=True)
class Damaged:
    """A record that could not be read, and why, in words."""

    position: str
    reason: str


def read_marc(stream: BinaryIO) -> Iterator[Raw | Parsed | Damaged]:
    """Every record in ``stream``, in order (ISO 2709 ones still to be parsed with
    parse_raw: that is the slow part, which may run elsewhere). Raises NotMarc when the
    file is of another kind."""
    head = stream.read(_PEEK)
    start = head.removeprefix(_BOM).lstrip()
    if not start:
        raise NotMarc("the file is empty")
    if start.startswith(b"<"):
        return _read_marcxml(head, stream)
    if start[:5].isdigit():
        return _read_iso2709(start, stream, offset=len(head) - len(start))
    raise NotMarc("the file is neither MARC 21 (ISO 2709) nor MARCXML")


def _read_iso2709(head: bytes, stream: BinaryIO, *, offset: int) -> Iterator[Raw | Damaged]:
    data = _Buffered(head, stream, offset)
    number = 0
    while data.fill(1):
        # Exports often end with a newline or padding after the last record.
        if not data.peek(_PEEK).strip() and not data.fill(_PEEK + 1):
            return
        number += 1
        where = f"record {number} (byte {data.offset:,})"
        length_text = data.peek(5)
        length = int(length_text) if length_text.isdigit() else 0
        if length <= _LEADER_LENGTH:
            yield Damaged(where, "does not start with a record length; skipped to the next record")
        elif not data.fill(length):
            yield Damaged(where, "the file ends in the middle of this record (is it truncated?)")
            return
        elif data.peek(length)[-1] != _END_OF_RECORD:
            yield Damaged(where, "its length does not match where it ends; skipped to its end")
        else:
            yield Raw(where, data.take(length))
            continue
        data.skip_past(_END_OF_RECORD)


class _Buffered:
    """A stream read ahead in large chunks, which knows its position in the file."""

    def __init__(self, head: bytes, stream: BinaryIO, offset: int) -> None:
        self._buffer = bytearray(head)
        self._stream = stream
        self.offset = offset  # of the buffer's first byte, in the file

    def fill(self, size: int) -> bool:
        """Whether ``size`` bytes are there to read (reading more if need be)."""
        while len(self._buffer) < size:
            more = self._stream.read(_CHUNK)
            if not more:
                return False
            self._buffer.extend(more)
        return True

    def peek(self, size: int) -> bytes:
        return bytes(self._buffer[:size])

    def take(self, size: int) -> bytes:
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.offset += len(taken)
        return taken

    def skip_past(self, mark: int) -> None:
        """Drop everything up to and including the next ``mark`` (or to the end)."""
        searched = 0
        while (found := self._buffer.find(mark, searched)) < 0:
            searched = len(self._buffer)
            if not self.fill(searched + 1):
                self.take(searched)
                return
        self.take(found + 1)


def parse_raw(raw: Raw) -> Parsed | Damaged:
    """The record in ``raw``, or what is wrong with it."""
    try:
        marc = pymarc.Record(data=raw.data, to_unicode=True, utf8_handling="replace")
    except _PYMARC_ERRORS as exc:
        return Damaged(raw.position, f"could not be read ({_reason(exc)})")
    if raw.data[9:10] != b"a":  # MARC-8: keep the UTF-8 form pymarc decoded it to
        marc.leader.coding_scheme = "a"
        return Parsed(raw.position, marc, marc.as_marc())
    return Parsed(raw.position, marc, raw.data)


def _read_marcxml(head: bytes, stream: BinaryIO) -> Iterator[Parsed | Damaged]:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise NotMarc("the MARCXML file has a DOCTYPE, which libgate does not accept")
    events = etree.iterparse(
        _Rejoined(head, stream),
        events=("end",),
        tag=_RECORD_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    number = 0
    try:
        for _, element in events:
            if number == 0:
                _refuse_doctype(element)
            number += 1
            where = f"record {number}"
            try:
                marc = marc_from_marcxml(element)
                yield Parsed(where, marc, marc.as_marc())
            except _PYMARC_ERRORS as exc:
                yield Damaged(where, f"could not be read ({_reason(exc)})")
            # The file can be far bigger than memory: drop what has been read.
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if number == 0:
            raise NotMarc(f"the file is not well-formed XML ({exc.msg})") from None
        yield Damaged(
            f"after record {number}",
            f"the XML is broken at line {exc.lineno} ({exc.msg}); the rest was not read",
        )
        return
    if number == 0:
        raise NotMarc("the XML file holds no MARCXML <record> elements")


def _refuse_doctype(element: etree._Element) -> None:
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise NotMarc("the MARCXML file has a DOCTYPE, which libgate does not accept")


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class _Rejoined:
    """``head`` (already read, to sniff the format) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            part, self._head = self._head, b""
            return part
        return self._stream.read(size)
