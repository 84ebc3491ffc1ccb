"""A catalogue searched over SRU 1.1, 1.2 or 2.0 (searchRetrieve over HTTP GET), records as
MARCXML or Dublin Core."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lxml import etree

from libgate.search._model import Record, TargetAnswer, TargetError
from libgate.search.query import Query, to_cql
from libgate.search.records import (
    DC_NS,
    MARC_NS,
    OAI_DC_NS,
    SRW_DC_NS,
    parse_xml,
    record_from_dc,
    record_from_marcxml,
)
from libgate.search.targets._http_limits import HttpTarget

_RESPONSE_NAMESPACES = (
    "http://www.loc.gov/zing/srw/",  # SRU 1.1 and 1.2
    "http://docs.oasis-open.org/ns/search-ws/sruResponse",  # SRU 2.0
)
_RESPONSE = "searchRetrieveResponse"
_DC_NAMESPACES = (DC_NS, SRW_DC_NS, OAI_DC_NS)
_DIAGNOSTIC_PREFIX = "info:srw/diagnostic/1/"


@dataclass(frozen=True, slots=True)
class _Diagnostic:
    number: str
    message: str
    details: str

    def __str__(self) -> str:
        words = self.message or f"SRU diagnostic {self.number}"
        return f"{words}: {self.details}" if self.details else words


@dataclass(frozen=True, slots=True)
class _Source:
    """What reading an answer needs to know of its target (sent to a reader process)."""

    name: str
    title: str
    max_bytes: int


class SruTarget(HttpTarget):
    """Searches one SRU server. One HTTP client (and its connection pool) per target, with
    at most ``settings.max_concurrent`` connections; :meth:`aclose` releases it. Answers
    are read by ``readers`` (shared by the targets of a search; default: in a thread)."""

    @property
    def _source(self) -> _Source:
        return _Source(self.name, self.title, self.max_bytes)

    async def search(self, query: Query, *, limit: int) -> TargetAnswer:
        """The hit count and up to ``limit`` records for ``query``, or TargetError."""
        translation = to_cql(query, self.settings.indexes)
        timeout = self.settings.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                status, body = await self._search(
                    translation.text, min(limit, self.settings.records)
                )
        except TimeoutError:
            raise TargetError(f"{self.title} did not answer within {timeout:g} s") from None
        hits, records, notes = await self._read(_read, self._source, status, body)
        return TargetAnswer(hits, records, (*translation.diagnostics, *notes))

    async def _search(self, cql: str, maximum: int) -> tuple[int, bytes]:
        version = self.settings.sru_version
        params = {
            "version": version,
            "operation": "searchRetrieve",
            "query": cql,
            "startRecord": "1",
            "maximumRecords": str(maximum),
            "recordSchema": self.settings.record_schema,
            # 2.0 renamed 1.x's recordPacking (and gave the old name another meaning).
            "recordXMLEscaping" if version == "2.0" else "recordPacking": "xml",
        }
        return await self._get(self.settings.url, params)


def _read(
    source: _Source, status: int, body: bytes
) -> tuple[int, tuple[Record, ...], tuple[str, ...]]:
    """An SRU answer's hit count, records and notes, or TargetError."""
    root = _sru_response(source, status, body)
    namespace = etree.QName(root).namespace
    diagnostics = _diagnostics(root, namespace)
    hits_text = root.findtext(f"{{{namespace}}}numberOfRecords", "").strip()
    record_data = root.findall(f"{{{namespace}}}records/{{{namespace}}}record")
    counted = hits_text.isascii() and hits_text.isdigit()  # not "²", which int() refuses
    if diagnostics and (not counted or (int(hits_text) == 0 and not record_data)):
        raise TargetError(f"{source.title} could not run the search: {diagnostics[0]}")
    if not counted:
        raise TargetError(f"{source.title} sent SRU results without a number of records")
    records = [r for item in record_data if (r := _record(source, item, namespace)) is not None]
    notes = [str(d) for d in diagnostics]
    if len(records) < len(record_data):
        skipped = len(record_data) - len(records)
        notes.append(f"{skipped} of its records could not be read and were left out")
    return int(hits_text), tuple(records), tuple(notes)


def _sru_response(source: _Source, status: int, body: bytes) -> etree._Element:
    refused: TargetError | None = None
    try:
        root = parse_xml(body, max_bytes=source.max_bytes)
    except TargetError as exc:
        refused = exc
    else:
        name = etree.QName(root)
        if name.localname == _RESPONSE and name.namespace in _RESPONSE_NAMESPACES:
            return root
    if status >= 400:
        raise TargetError(
            f"{source.title} answered with an error (HTTP {status}) instead of search results"
        )
    if refused is not None:
        raise TargetError(f"{source.title} sent an answer libgate refused: {refused}")
    raise TargetError(f"{source.title} did not answer with SRU search results")


def _record(source: _Source, item: etree._Element, namespace: str) -> Record | None:
    data = item.find(f"{{{namespace}}}recordData")
    if data is None:
        return None
    content = _content(data)
    if content is None:
        return None
    schema = etree.QName(content).namespace
    native_id = item.findtext(f"{{{namespace}}}recordIdentifier", "").strip()
    try:
        if schema == MARC_NS:
            return record_from_marcxml(content, source=source.name, native_id=native_id)
        if schema in _DC_NAMESPACES:
            return record_from_dc(content, source=source.name, native_id=native_id)
    # One odd record (or a converter's blind spot) must not cost the whole answer.
    except Exception:
        return None
    return None


def _content(data: etree._Element) -> etree._Element | None:
    """The record inside recordData: an element, or escaped XML text (recordPacking
    "string", which some servers send whatever was asked for)."""
    for child in data:
        if isinstance(child.tag, str):
            return child
    text = (data.text or "").strip()
    if not text.startswith("<"):
        return None
    try:
        return parse_xml(text.encode())
    except TargetError:
        return None


def _diagnostics(root: etree._Element, namespace: str) -> list[_Diagnostic]:
    found = []
    for diagnostic in root.iterfind(f"{{{namespace}}}diagnostics/*"):
        fields = {etree.QName(child).localname: (child.text or "").strip() for child in diagnostic}
        found.append(
            _Diagnostic(
                number=fields.get("uri", "").removeprefix(_DIAGNOSTIC_PREFIX),
                message=fields.get("message", ""),
                details=fields.get("details", ""),
            )
        )
    return found
