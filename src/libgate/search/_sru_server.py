"""libgate's own SRU service over its local catalogue index, so that neighbouring
authorities can federate to this library: explain and searchRetrieve (SRU 1.1, 1.2 and
2.0), CQL in, MARCXML or Dublin Core out, standard diagnostics for whatever goes wrong."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pymarc
from lxml import etree

from libgate.search._keys import fold
from libgate.search._model import Record
from libgate.search.index import LocalIndex
from libgate.search.query import CqlError, Term, parse_cql
from libgate.search.records import dublin_core, marcxml, parse_xml, xml_safe

SRU_1 = "http://www.loc.gov/zing/srw/"
SRU_2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SCAN_2 = "http://docs.oasis-open.org/ns/search-ws/scan"
EXPLAIN_NS = "http://explain.z3950.org/dtd/2.0/"
DIAGNOSTIC_NS = "http://www.loc.gov/zing/srw/diagnostic/"
SCHEMAS = {
    "marcxml": "info:srw/schema/1/marcxml-v1.1",
    "dc": "info:srw/schema/1/dc-v1.1",
}
# What clients put in recordSchema: a short name or the schema's identifier.
_SCHEMA_NAMES = (
    {name: name for name in SCHEMAS}
    | {identifier: name for name, identifier in SCHEMAS.items()}
    | {"marc21": "marcxml", "info:srw/schema/1/marcxml-v1.1-light": "marcxml"}
)
VERSIONS = ("1.1", "1.2", "2.0")
MAX_RECORDS = 100
MAX_TERMS = 100
# No catalogue holds this many records, so a later start is past the end of any result
# (and would be too large for SQLite to take as an offset).
MAX_START = 2**31
# Diagnostic details repeat what the client sent, which may be long or hold characters
# XML cannot carry; the answer must still be a well-formed document.
MAX_DETAILS = 100
_RESPONSES = {"explain": "explainResponse", "scan": "scanResponse"}
_INDEXES = {
    "title": ("dc", "title"),
    "author": ("dc", "creator"),
    "subject": ("dc", "subject"),
    "isbn": ("bath", "isbn"),
    "any": ("cql", "serverChoice"),
}


class _Diagnostic(Exception):
    def __init__(self, number: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.number = number
        self.message = message
        self.details = details


class SruServer:
    def __init__(self, index: LocalIndex, *, title: str, base_url: str) -> None:
        self._index = index
        self._title = title
        self._base_url = base_url.rstrip("/")

    async def respond(self, params: Mapping[str, str]) -> bytes:
        """The XML answer to a request's parameters; what cannot be done is a diagnostic
        inside it (SRU answers those with HTTP 200 too)."""
        version = params.get("version", "1.2")
        operation = params.get("operation") or (
            "searchRetrieve" if "query" in params else "explain"
        )
        namespace = SRU_1 if version != "2.0" else SCAN_2 if operation == "scan" else SRU_2
        try:
            if version not in VERSIONS:
                raise _Diagnostic(5, "Unsupported version", "1.2")
            if operation == "explain":
                return _document(self._explain(namespace, version))
            if operation == "scan":
                return _document(await self._scan(namespace, version, params))
            if operation != "searchRetrieve":
                raise _Diagnostic(4, "Unsupported operation", operation)
            return _document(await self._search(namespace, version, params))
        except _Diagnostic as problem:
            root = _element(namespace, _RESPONSES.get(operation, "searchRetrieveResponse"))
            _child(root, namespace, "version", version if version in VERSIONS else "1.2")
            if operation not in _RESPONSES:
                _child(root, namespace, "numberOfRecords", "0")
            root.append(_diagnostics(namespace, problem))
            return _document(root)

    def _explain(self, namespace: str, version: str) -> etree._Element:
        root = _element(namespace, "explainResponse")
        _child(root, namespace, "version", version)
        record = _child(root, namespace, "record")
        _child(record, namespace, "recordSchema", "http://explain.z3950.org/dtd/2.0/")
        _child(record, namespace, "recordPacking", "xml")
        data = _child(record, namespace, "recordData")
        explain = etree.SubElement(data, f"{{{EXPLAIN_NS}}}explain", nsmap={None: EXPLAIN_NS})
        host, _, rest = self._base_url.partition("://")[2].partition("/")
        server = etree.SubElement(explain, f"{{{EXPLAIN_NS}}}serverInfo", protocol="SRU")
        name, _, port = host.partition(":")
        etree.SubElement(server, f"{{{EXPLAIN_NS}}}host").text = name
        etree.SubElement(server, f"{{{EXPLAIN_NS}}}port").text = port or "80"
        etree.SubElement(server, f"{{{EXPLAIN_NS}}}database").text = rest or "sru"
        info = etree.SubElement(explain, f"{{{EXPLAIN_NS}}}databaseInfo")
        etree.SubElement(
            info, f"{{{EXPLAIN_NS}}}title", lang="en", primary="true"
        ).text = self._title
        index_info = etree.SubElement(explain, f"{{{EXPLAIN_NS}}}indexInfo")
        for prefix, identifier in (
            ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
            ("bath", "http://zing.z3950.org/cql/bath/2.0/"),
            ("cql", "info:srw/cql-context-set/1/cql-v1.2"),
        ):
            etree.SubElement(index_info, f"{{{EXPLAIN_NS}}}set", name=prefix, identifier=identifier)
        for field, (prefix, index_name) in _INDEXES.items():
            index = etree.SubElement(index_info, f"{{{EXPLAIN_NS}}}index")
            etree.SubElement(index, f"{{{EXPLAIN_NS}}}title").text = field
            mapping = etree.SubElement(index, f"{{{EXPLAIN_NS}}}map")
            etree.SubElement(mapping, f"{{{EXPLAIN_NS}}}name", set=prefix).text = index_name
        schemas = etree.SubElement(explain, f"{{{EXPLAIN_NS}}}schemaInfo")
        for name, identifier in SCHEMAS.items():
            schema = etree.SubElement(
                schemas, f"{{{EXPLAIN_NS}}}schema", identifier=identifier, name=name
            )
            etree.SubElement(schema, f"{{{EXPLAIN_NS}}}title").text = name
        settings = etree.SubElement(explain, f"{{{EXPLAIN_NS}}}configInfo")
        etree.SubElement(settings, f"{{{EXPLAIN_NS}}}default", type="numberOfRecords").text = "10"
        etree.SubElement(settings, f"{{{EXPLAIN_NS}}}setting", type="maximumRecords").text = str(
            MAX_RECORDS
        )
        return root

    async def _search(
        self, namespace: str, version: str, params: Mapping[str, str]
    ) -> etree._Element:
        text = params.get("query", "")
        if not text.strip():
            raise _Diagnostic(7, "Mandatory parameter not supplied", "query")
        start = _number(params, "startRecord", 1, minimum=1)
        if start > MAX_START:
            raise _Diagnostic(61, "First record position out of range", str(start))
        wanted = min(_number(params, "maximumRecords", 10, minimum=0), MAX_RECORDS)
        requested = params.get("recordSchema") or "marcxml"
        schema = _SCHEMA_NAMES.get(requested.strip())
        if schema is None:
            raise _Diagnostic(66, "Unknown schema for retrieval", requested)
        packing = params.get("recordXMLEscaping" if version == "2.0" else "recordPacking", "xml")
        if packing not in ("xml", "string"):
            raise _Diagnostic(71, "Unsupported record packing", packing)
        try:
            query = parse_cql(text)
        except CqlError as exc:
            raise _Diagnostic(exc.diagnostic, exc.message, exc.details) from None
        hits, records = await asyncio.to_thread(
            self._index.search, query, limit=wanted, offset=start - 1
        )
        if wanted and hits and start > hits:
            raise _Diagnostic(61, "First record position out of range", str(start))
        root = _element(namespace, "searchRetrieveResponse")
        _child(root, namespace, "version", version)
        _child(root, namespace, "numberOfRecords", str(hits))
        if records:
            container = _child(root, namespace, "records")
        for position, record in enumerate(records, start=start):
            payload = await self._payload(schema, record)
            entry = _child(container, namespace, "record")
            _child(entry, namespace, "recordSchema", SCHEMAS[schema])
            _child(
                entry,
                namespace,
                "recordXMLEscaping" if version == "2.0" else "recordPacking",
                packing,
            )
            data = _child(entry, namespace, "recordData")
            if packing == "xml":
                data.append(payload)
            else:
                data.text = etree.tostring(payload, encoding="unicode")
            _child(entry, namespace, "recordPosition", str(position))
        if start - 1 + len(records) < hits:
            _child(root, namespace, "nextRecordPosition", str(start + len(records)))
        return root

    async def _scan(
        self, namespace: str, version: str, params: Mapping[str, str]
    ) -> etree._Element:
        """The index's words in order from the scan clause's term, with how many records
        have each. Only forwards (responsePosition 0 or 1), which the index does cheaply."""
        clause = params.get("scanClause", "")
        if not clause.strip():
            raise _Diagnostic(7, "Mandatory parameter not supplied", "scanClause")
        position = _number(params, "responsePosition", 1, minimum=0)
        if position > 1:
            raise _Diagnostic(120, "Response position out of range", str(position))
        count = min(_number(params, "maximumTerms", 20, minimum=1), MAX_TERMS)
        try:
            query = parse_cql(clause)
        except CqlError as exc:
            raise _Diagnostic(exc.diagnostic, exc.message, exc.details) from None
        if not isinstance(query, Term):
            raise _Diagnostic(10, "Query syntax error", "scan takes one index and one term")
        words = fold(query.words).split()
        start = "".join(words) if query.field == "isbn" else next(iter(words), "")
        terms = await asyncio.to_thread(self._index.scan, query.field, start, count + 1)
        if position == 0 and terms and terms[0][0] == start:
            terms = terms[1:]  # position 0: the list begins just after the term
        root = _element(namespace, "scanResponse")
        _child(root, namespace, "version", version)
        if terms:
            listed = _child(root, namespace, "terms")
            for value, records in terms[:count]:
                term = _child(listed, namespace, "term")
                _child(term, namespace, "value", value)
                _child(term, namespace, "numberOfRecords", str(records))
        return root

    async def _payload(self, schema: str, record: Record) -> etree._Element:
        if schema == "dc":
            return dublin_core(record)
        raw = await asyncio.to_thread(self._index.raw_marc, record.native_id)
        if raw is None:  # imported before raw records were kept, or removed since
            return dublin_core(record)
        return parse_xml(marcxml(pymarc.Record(data=raw, force_utf8=True)))


def _number(params: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _Diagnostic(6, "Unsupported parameter value", name) from None
    if number < minimum:
        raise _Diagnostic(6, "Unsupported parameter value", name)
    return number


def _element(namespace: str, name: str) -> etree._Element:
    prefix = {SRU_2: "sru", SCAN_2: "scan"}.get(namespace, "srw")
    return etree.Element(f"{{{namespace}}}{name}", nsmap={prefix: namespace})


def _child(
    parent: etree._Element, namespace: str, name: str, text: str | None = None
) -> etree._Element:
    child = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if text is not None:
        child.text = text
    return child


def _diagnostics(namespace: str, problem: _Diagnostic) -> etree._Element:
    wrapper = etree.Element(f"{{{namespace}}}diagnostics")
    diagnostic = etree.SubElement(
        wrapper, f"{{{DIAGNOSTIC_NS}}}diagnostic", nsmap={"diag": DIAGNOSTIC_NS}
    )
    etree.SubElement(
        diagnostic, f"{{{DIAGNOSTIC_NS}}}uri"
    ).text = f"info:srw/diagnostic/1/{problem.number}"
    details = _echoed(problem.details)
    if details:
        etree.SubElement(diagnostic, f"{{{DIAGNOSTIC_NS}}}details").text = details
    etree.SubElement(diagnostic, f"{{{DIAGNOSTIC_NS}}}message").text = _echoed(problem.message)
    return wrapper


def _echoed(text: str) -> str:
    text = xml_safe(text)
    return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 1] + "…"


def _document(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
