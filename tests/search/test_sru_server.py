"""libgate answers SRU at /sru over its local catalogue, so neighbouring libraries can
federate to it: explain, searchRetrieve with CQL, MARCXML and Dublin Core records, paging,
and the standard diagnostics — checked in-process and with YAZ's own client."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pymarc
import pytest
from lxml import etree

from libgate.config import Settings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import SruServer
from libgate.search.index import LocalIndex
from libgate.search.records import marc_from_marcxml, parse_xml
from tests.conftest import ISSUER
from tests.support.servers import live_server
from tests.support.streamed import StreamedBody

SRU = "http://www.loc.gov/zing/srw/"
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
EXPLAIN = "http://explain.z3950.org/dtd/2.0/"
NS = {"srw": SRU, "sru": SRU2, "diag": DIAG, "zr": EXPLAIN}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sru") / "catalogue.db"
    LocalIndex(path).import_marc(SAMPLE_CATALOGUE)
    return path


@pytest.fixture
def settings(database_url: str, catalogue: Path) -> Settings:
    return Settings.model_validate(
        {
            "issuer": ISSUER,
            "database_url": database_url,
            "library": {"name": "Testshire Libraries"},
            "search": {"local_index": str(catalogue)},
        }
    )


async def sru(http: httpx.AsyncClient, **params: str) -> etree._Element:
    response = await http.get("/sru", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return parse_xml(response.content)


def diagnostic(root: etree._Element) -> str:
    uris = root.xpath("//diag:diagnostic/diag:uri/text()", namespaces=NS)
    assert len(uris) == 1, etree.tostring(root)
    return str(uris[0]).rsplit("/", 1)[1]


async def test_explain_describes_the_catalogue(http: httpx.AsyncClient) -> None:
    root = await sru(http)
    assert root.tag == f"{{{SRU}}}explainResponse"
    assert root.xpath("//zr:databaseInfo/zr:title/text()", namespaces=NS) == ["Testshire Libraries"]
    indexes = root.xpath("//zr:index/zr:map/zr:name/text()", namespaces=NS)
    assert {"title", "creator", "subject", "isbn", "serverChoice"} <= set(indexes)


async def test_search_retrieve_returns_marcxml_records_that_read_back(
    http: httpx.AsyncClient,
) -> None:
    root = await sru(http, operation="searchRetrieve", version="1.2", query='dc.title="lincoln"')
    assert root.xpath("//srw:numberOfRecords/text()", namespaces=NS) == ["2"]
    records = root.xpath("//srw:record/srw:recordData/*", namespaces=NS)
    assert len(records) == 2
    titles = [marc_from_marcxml(record)["245"]["a"] for record in records]
    assert any(title.startswith("The life of Abraham Lincoln") for title in titles)
    assert isinstance(marc_from_marcxml(records[0]), pymarc.Record)
    positions = root.xpath("//srw:recordPosition/text()", namespaces=NS)
    assert positions == ["1", "2"]


async def test_records_page_with_start_record_and_maximum_records(
    http: httpx.AsyncClient,
) -> None:
    first = await sru(
        http, operation="searchRetrieve", query="history", maximumRecords="5", startRecord="1"
    )
    total = int(first.xpath("//srw:numberOfRecords/text()", namespaces=NS)[0])
    assert total > 10
    assert first.xpath("//srw:nextRecordPosition/text()", namespaces=NS) == ["6"]
    second = await sru(
        http, operation="searchRetrieve", query="history", maximumRecords="5", startRecord="6"
    )
    assert second.xpath("//srw:recordPosition/text()", namespaces=NS) == [
        "6",
        "7",
        "8",
        "9",
        "10",
    ]
    pages = [page.xpath("//srw:recordData/*", namespaces=NS) for page in (first, second)]
    first_ids, second_ids = ({marc_from_marcxml(r)["001"].data for r in page} for page in pages)
    assert len(first_ids) == len(second_ids) == 5
    assert first_ids.isdisjoint(second_ids)


async def test_dublin_core_is_offered_too(http: httpx.AsyncClient) -> None:
    root = await sru(
        http, operation="searchRetrieve", query="dc.creator=tarbell", recordSchema="dc"
    )
    titles = root.xpath("//*[local-name()='dc']/*[local-name()='title']/text()")
    assert any("Abraham Lincoln" in title for title in titles)


async def test_sru_2_answers_in_its_own_namespace(http: httpx.AsyncClient) -> None:
    root = await sru(http, operation="searchRetrieve", version="2.0", query="lincoln")
    assert root.tag == f"{{{SRU2}}}searchRetrieveResponse"
    assert int(root.xpath("//sru:numberOfRecords/text()", namespaces=NS)[0]) >= 2


@pytest.mark.parametrize(
    ("params", "number"),
    [
        ({"operation": "searchRetrieve", "query": 'dc.title="lincoln'}, "10"),
        ({"operation": "searchRetrieve", "query": "dc.date=1899"}, "16"),
        ({"operation": "searchRetrieve", "query": "dc.title within lincoln"}, "19"),
        ({"operation": "searchRetrieve", "query": "a prox b"}, "37"),
        ({"operation": "searchRetrieve"}, "7"),
        ({"operation": "searchRetrieve", "query": "x", "recordSchema": "mods"}, "66"),
        ({"operation": "searchRetrieve", "query": "x", "startRecord": "0"}, "6"),
        ({"operation": "searchRetrieve", "query": "x", "maximumRecords": "many"}, "6"),
        ({"operation": "update", "query": "x"}, "4"),
        ({"operation": "scan"}, "7"),
        ({"operation": "scan", "scanClause": "dc.date=1899"}, "16"),
        ({"operation": "scan", "scanClause": "lincoln and life"}, "10"),
        ({"operation": "scan", "scanClause": "lincoln", "responsePosition": "5"}, "120"),
        ({"operation": "searchRetrieve", "version": "9.9", "query": "x"}, "5"),
    ],
)
async def test_what_cannot_be_done_is_a_standard_diagnostic(
    http: httpx.AsyncClient, params: dict[str, str], number: str
) -> None:
    root = await sru(http, **params)
    assert diagnostic(root) == number


async def test_scan_lists_the_words_of_an_index_in_order_with_how_many_records_have_them(
    http: httpx.AsyncClient,
) -> None:
    root = await sru(http, operation="scan", scanClause="dc.title=Linc", maximumTerms="5")
    assert root.tag == f"{{{SRU}}}scanResponse"
    terms = [
        (term.findtext(f"{{{SRU}}}value"), int(term.findtext(f"{{{SRU}}}numberOfRecords") or 0))
        for term in root.iter(f"{{{SRU}}}term")
    ]
    assert len(terms) == 5 and terms[0][0] == "lincoln"
    assert [value for value, _ in terms] == sorted(value for value, _ in terms)
    # The count is what a search of that index for that word finds.
    hits = await sru(http, operation="searchRetrieve", query="dc.title=lincoln")
    assert str(terms[0][1]) == hits.findtext(f"{{{SRU}}}numberOfRecords")
    after = await sru(http, operation="scan", scanClause="dc.title=lincoln", responsePosition="0")
    assert next(after.iter(f"{{{SRU}}}value")).text == terms[1][0]


@pytest.mark.parametrize("start", ["500", str(2**31 + 1), "99999999999999999999"])
async def test_a_first_record_beyond_the_end_is_diagnostic_61(
    http: httpx.AsyncClient, start: str
) -> None:
    root = await sru(http, operation="searchRetrieve", query="lincoln", startRecord=start)
    assert diagnostic(root) == "61"


@pytest.mark.parametrize(
    ("params", "number"),
    [
        ({"operation": "\x01"}, "4"),
        ({"operation": "searchRetrieve", "query": "x", "recordSchema": "x\x0b"}, "66"),
        ({"operation": "searchRetrieve", "query": "dc.foo\x01=x"}, "16"),
        ({"operation": "scan", "scanClause": "dc.foo\x01=x"}, "16"),
    ],
)
async def test_a_diagnostic_about_characters_xml_cannot_carry_is_still_well_formed(
    http: httpx.AsyncClient, params: dict[str, str], number: str
) -> None:
    root = await sru(http, **params)
    assert diagnostic(root) == number


async def test_a_diagnostic_repeats_only_the_start_of_a_long_value(
    http: httpx.AsyncClient,
) -> None:
    root = await sru(http, operation="searchRetrieve", query="x", recordSchema="mods" * 2000)
    assert diagnostic(root) == "66"
    [details] = root.xpath("//diag:diagnostic/diag:details/text()", namespaces=NS)
    assert details.startswith("modsmods") and len(details) <= 100


async def test_a_catalogue_record_with_a_control_character_in_its_codes_is_still_served(
    tmp_path: Path,
) -> None:
    odd = pymarc.Record()
    odd.add_field(pymarc.Field("001", data="odd-1"))
    odd.add_field(
        pymarc.Field(
            "245",
            pymarc.Indicators("\x01", "0"),
            [pymarc.Subfield("a", "Zanzibar oddities"), pymarc.Subfield("\x0b", "stray")],
        )
    )
    index = LocalIndex(tmp_path / "catalogue.db")
    index.import_marc(io.BytesIO(odd.as_marc()))
    server = SruServer(index, title="Testshire Libraries", base_url=f"{ISSUER}/sru")
    answer = await server.respond(
        {"operation": "searchRetrieve", "query": "zanzibar", "recordSchema": "marcxml"}
    )
    [record] = parse_xml(answer).xpath("//srw:recordData/*", namespaces=NS)
    title = marc_from_marcxml(record)["245"]
    assert title["a"] == "Zanzibar oddities"
    assert title.indicator1 == " "


async def test_search_retrieve_can_be_posted_as_a_form(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/sru", data={"operation": "searchRetrieve", "query": 'dc.title="lincoln"'}
    )
    assert response.status_code == 200
    root = parse_xml(response.content)
    assert root.xpath("//srw:numberOfRecords/text()", namespaces=NS) == ["2"]


async def test_a_posted_form_too_large_is_refused_without_reading_it_all(
    http: httpx.AsyncClient,
) -> None:
    """A client that streams its form without saying how long it is cannot make
    libgate read 40 MB."""
    body = StreamedBody(b"query=", megabytes=40)
    response = await http.post(
        "/sru",
        content=body.chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert not body.read_to_the_end


def test_yaz_client_explains_searches_scans_and_gets_diagnostics(
    database_url: str, catalogue: Path, log_dir: Path
) -> None:
    if shutil.which("yaz-client") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("yaz-client is needed under CI (apt-get install -y yaz)")
        pytest.skip("yaz-client is not installed (apt-get install -y yaz)")
    overrides = {
        "LIBGATE_SEARCH__LOCAL_INDEX": str(catalogue),
        "LIBGATE_LIBRARY__NAME": "Testshire Libraries",
    }
    with live_server(database_url, log_dir, **overrides) as server:
        script = [
            f"open {server.base_url}/sru",
            "sru get 1.2",
            "explain",
            "find dc.title=lincoln",
            "show 1",
            'find dc.title="lincoln',
            "find dc.date=1899",
            "scan dc.title=linc",
            "quit",
        ]
        result = subprocess.run(
            ["yaz-client"],
            input="\n".join(script) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    output = result.stdout
    assert '<title lang="en" primary="true">Testshire Libraries</title>' in output, output
    assert "Number of hits: 2" in output, output
    assert '<subfield code="a">The life of Abraham Lincoln' in output, output
    assert "SRW diagnostic info:srw/diagnostic/1/10" in output, output
    assert "SRW diagnostic info:srw/diagnostic/1/16" in output, output
    # Scan: the title words from "linc" on, each with its number of records.
    assert "Received SRW Scan Response\nlincoln: 2\nline: " in output, output
