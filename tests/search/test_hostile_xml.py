"""parse_xml against XML written to hurt: entity bombs, external entities and DTDs that
would read local files or call out, XInclude, oversized and malformed documents."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from libgate.search import TargetError
from libgate.search.records import MARC_NS, XmlRefused, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz a="&lol9;">&lol9;</lolz>"""


def quadratic_blowup() -> bytes:
    entity = "x" * 50_000
    refs = "&a;" * 50_000
    return f'<!DOCTYPE k [<!ENTITY a "{entity}">]><k>{refs}</k>'.encode()


def as_utf16(document: str) -> bytes:
    # Hides the declarations from a byte scan, so the refusal after parsing must hold.
    return f'<?xml version="1.0" encoding="UTF-16"?>{document}'.encode("utf-16")


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[str, str]:
    marker = "SECRET-MARKER-7f3a"
    path = tmp_path / "secret.txt"
    path.write_text(marker)
    return path.as_uri(), marker


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request made to it."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'<!ENTITY leak "LEAKED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def refusal(data: bytes) -> XmlRefused:
    with pytest.raises(XmlRefused) as caught:
        parse_xml(data)
    return caught.value


def everything_said(error: BaseException) -> str:
    said = []
    current: BaseException | None = error
    while current is not None:
        said.append(repr(current))
        current = current.__cause__ or current.__context__
    return " ".join(said)


def test_a_billion_laughs_document_is_refused_quickly() -> None:
    started = time.perf_counter()
    error = refusal(BILLION_LAUGHS)
    print(f"\nbillion laughs refused in {(time.perf_counter() - started) * 1e3:.2f} ms")
    assert "DOCTYPE" in str(error)
    assert isinstance(error, TargetError)


def test_a_billion_laughs_hidden_in_utf16_is_refused_too() -> None:
    assert "DOCTYPE" in str(refusal(as_utf16(BILLION_LAUGHS.decode().split("?>", 1)[1])))


@pytest.mark.parametrize("encode", [str.encode, as_utf16], ids=["utf8", "utf16"])
def test_a_quadratic_blowup_is_refused(encode: Callable[[str], bytes]) -> None:
    document = quadratic_blowup().decode()
    data = encode(document)
    assert "DOCTYPE" in str(refusal(data))


@pytest.mark.parametrize("encode", [str.encode, as_utf16], ids=["utf8", "utf16"])
def test_an_external_entity_never_reveals_a_local_file(
    encode: Callable[[str], bytes], secret_file: tuple[str, str]
) -> None:
    for uri, marker in (secret_file, ("file:///etc/passwd", "root:")):
        document = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{uri}">]><r>&x;</r>'
        error = refusal(encode(document))
        assert marker not in everything_said(error)


@pytest.mark.parametrize("encode", [str.encode, as_utf16], ids=["utf8", "utf16"])
def test_an_external_dtd_or_parameter_entity_is_refused_without_a_request(
    encode: Callable[[str], bytes], listener: tuple[str, list[str]]
) -> None:
    base, requests = listener
    documents = [
        f'<!DOCTYPE r SYSTEM "{base}/evil.dtd"><r>&leak;</r>',
        f'<!DOCTYPE r PUBLIC "-//X//Y" "{base}/public.dtd"><r/>',
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{base}/param.dtd"> %p;]><r>&leak;</r>',
        f'<!DOCTYPE r [<!ENTITY e SYSTEM "{base}/entity">]><r>&e;</r>',
    ]
    for document in documents:
        error = refusal(encode(document))
        assert "LEAKED" not in everything_said(error)
    assert requests == []


def test_xinclude_is_left_as_an_element_and_never_followed(
    secret_file: tuple[str, str],
) -> None:
    uri, marker = secret_file
    root = parse_xml(
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="{uri}" parse="text"/></r>'.encode()
    )
    assert marker not in etree.tostring(root).decode()
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_an_oversized_document_is_refused_before_it_is_parsed() -> None:
    # Malformed as well as too big: a size refusal shows parsing never started.
    error = refusal(b"<a>" + b"x" * 20_000_000)
    assert "more than the 20,000,000 allowed" in str(error)
    with pytest.raises(XmlRefused, match="more than the 10 allowed"):
        parse_xml(b"<a>twelve</a>", max_bytes=10)


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<a>", b"<a></b>", b"not xml", b"<a>&undefined;</a>", b"\xff\xfe\x00<"],
)
def test_malformed_xml_is_refused_in_plain_words(data: bytes) -> None:
    assert str(refusal(data)).startswith(("the response is not well-formed XML", "the response"))


def test_a_normal_sru_response_parses_fast() -> None:
    record = (
        f'<record xmlns="{MARC_NS}"><leader>00000nam a2200000 a 4500</leader>'
        '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Caf\u00e9 &amp; co'
        "</subfield></datafield></record>"
    )
    entries = "".join(
        f"<srw:record><srw:recordSchema>marcxml</srw:recordSchema><srw:recordData>{record}"
        f"</srw:recordData><srw:recordPosition>{n}</srw:recordPosition></srw:record>"
        for n in range(1, 101)
    )
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<srw:searchRetrieveResponse xmlns:srw="http://www.loc.gov/zing/srw/">'
        f"<srw:numberOfRecords>100</srw:numberOfRecords><srw:records>{entries}</srw:records>"
        "</srw:searchRetrieveResponse>"
    ).encode()
    started = time.perf_counter()
    root = parse_xml(data)
    elapsed = time.perf_counter() - started
    print(f"\n100-record SRU response ({len(data):,} bytes) parsed in {elapsed * 1e3:.2f} ms")
    subfields = root.findall(f".//{{{MARC_NS}}}subfield")
    assert len(subfields) == 100
    assert subfields[0].text == "Caf\u00e9 & co"


def test_the_parser_alone_expands_and_fetches_nothing_if_the_early_scan_misses(
    monkeypatch: pytest.MonkeyPatch,
    secret_file: tuple[str, str],
    listener: tuple[str, list[str]],
) -> None:
    monkeypatch.setattr("libgate.search.records._xml._declares_doctype", lambda data: False)
    uri, marker = secret_file
    base, requests = listener
    documents = [
        BILLION_LAUGHS,
        quadratic_blowup(),
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "{uri}">]><r>&x;</r>'.encode(),
        f'<!DOCTYPE r SYSTEM "{base}/evil.dtd"><r>&leak;</r>'.encode(),
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{base}/param.dtd"> %p;]><r/>'.encode(),
        b'<!DOCTYPE r [<!ENTITY x "harmless">]><r>&x;</r>',
    ]
    for document in documents:
        said = everything_said(refusal(document))
        assert marker not in said
        assert "LEAKED" not in said
    assert requests == []
