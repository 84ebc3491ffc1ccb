"""The local catalogue index over 2,000 real Library of Congress records: importing (ISO 2709
and MARCXML, again, damaged files, hostile XML), and searching with the query model."""

from __future__ import annotations

import io
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pymarc
import pytest

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import Record
from libgate.search.index import IndexUnusable, LocalIndex, NotMarc
from libgate.search.query import Boolean, Query, Term
from libgate.search.records import marcxml, record_from_marc

LINCOLN = "00001357"  # The life of Abraham Lincoln / Ida M. Tarbell; subject: Lincoln, Abraham
LOOM = "00000074"  # The loom of destiny; 020 $a 0836932722


def sample_chunks() -> list[bytes]:
    """The sample's records as ISO 2709, one bytes each."""
    data = SAMPLE_CATALOGUE.read_bytes()
    chunks, start = [], 0
    while start < len(data):
        length = int(data[start : start + 5])
        chunks.append(data[start : start + length])
        start += length
    return chunks


def as_marcxml(chunks: list[bytes]) -> bytes:
    records = b"".join(marcxml(pymarc.Record(data=chunk, to_unicode=True)) for chunk in chunks)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + records + b"</collection>"
    )


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    catalogue = LocalIndex(tmp_path_factory.mktemp("index") / "catalogue.db")
    catalogue.import_marc(SAMPLE_CATALOGUE)
    yield catalogue
    catalogue.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[LocalIndex]:
    catalogue = LocalIndex(tmp_path / "catalogue.db")
    yield catalogue
    catalogue.close()


def ids(index: LocalIndex, query: Query, limit: int = 2000) -> list[str]:
    return [record.native_id for record in index.search(query, limit=limit)[1]]


# --- a plain reading of the records, to check the index's answers against --------------


def _words(*texts: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", " ".join(texts).casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return set(re.findall(r"[^\W_]+", plain))


def _fields(record: Record) -> dict[str, set[str]]:
    fields = {
        "title": _words(record.title, record.subtitle),
        "author": _words(*record.authors),
        "subject": _words(*record.subjects),
        "isbn": set(record.isbns),
    }
    other = _words(record.publisher, record.edition, *record.issns, str(record.year or ""))
    fields["any"] = set().union(*fields.values(), other)
    return fields


def _matches(query: Query, fields: dict[str, set[str]]) -> bool:
    if isinstance(query, Term):
        return _words(query.words) <= fields[query.field]
    left, right = _matches(query.left, fields), _matches(query.right, fields)
    return {"and": left and right, "or": left or right, "not": left and not right}[query.op]


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, set[str]]]:
    with SAMPLE_CATALOGUE.open("rb") as stream:
        records = [record_from_marc(marc, source="local") for marc in pymarc.MARCReader(stream)]
    return {record.native_id: _fields(record) for record in records}


# --- importing ----------------------------------------------------------------------------


def test_importing_the_sample_twice_replaces_its_records_instead_of_adding_them(
    empty: LocalIndex,
) -> None:
    first = empty.import_marc(SAMPLE_CATALOGUE)
    assert (first.added, first.replaced, first.skipped, first.problems) == (2000, 0, 0, [])
    assert empty.count() == 2000
    again = empty.import_marc(SAMPLE_CATALOGUE)
    assert (again.added, again.replaced, again.skipped) == (0, 2000, 0)
    assert empty.count() == 2000
    assert ids(empty, Term("lincoln abraham tarbell")) == [LINCOLN]


def test_converting_in_worker_processes_gives_the_same_index(
    index: LocalIndex, empty: LocalIndex
) -> None:
    data = SAMPLE_CATALOGUE.read_bytes()
    damaged = data[:100] + b"\x1d" + data[: len(data) - 50]  # a broken head and tail
    report = empty.import_marc(io.BytesIO(damaged), workers=2)
    assert (report.added, report.skipped) == (1999, 2)
    assert report.problems[0].startswith("record 1 (byte 0)")
    assert "truncated" in report.problems[1]
    for query in (Term("history"), Term("tarbell", field="author")):
        assert empty.search(query, limit=20) == index.search(query, limit=20)


def test_replace_all_removes_the_records_the_new_file_does_not_have(empty: LocalIndex) -> None:
    empty.import_marc(SAMPLE_CATALOGUE)
    report = empty.import_marc(io.BytesIO(b"".join(sample_chunks()[:10])), replace_all=True)
    assert (report.replaced, report.removed) == (10, 1990)
    assert empty.count() == 10
    assert empty.record(LINCOLN) is None


def test_replace_all_keeps_the_catalogue_when_nothing_could_be_imported(
    empty: LocalIndex,
) -> None:
    empty.import_marc(SAMPLE_CATALOGUE)
    report = empty.import_marc(io.BytesIO(b"00099garbage\x1d"), replace_all=True)
    assert report.removed == 0 and empty.count() == 2000
    assert "catalogue was left as it was" in report.problems[-1]


def test_a_damaged_file_imports_its_good_records_and_says_where_the_bad_ones_are(
    empty: LocalIndex,
) -> None:
    good = sample_chunks()[:6]
    wrong_length = b"00100" + good[3][5:]  # says 100 bytes; its end mark is elsewhere
    no_length = b"abcde" + good[4][5:]
    broken_directory = good[5][:12] + b"99999" + good[5][17:]  # data start past the end
    data = (
        good[0]
        + good[1]
        + wrong_length
        + no_length
        + broken_directory
        + good[2]
        + good[3][: len(good[3]) // 2]  # the file was cut short
    )
    report = empty.import_marc(io.BytesIO(data))
    assert report.added == 3
    assert report.skipped == 4
    assert empty.count() == 3
    assert report.problems[0].startswith(f"record 3 (byte {len(good[0]) + len(good[1]):,})")
    assert "truncated" in report.problems[-1]
    print(*report.problems, sep="\n")


def test_a_marc8_record_after_a_byte_order_mark_is_stored_as_utf8(empty: LocalIndex) -> None:
    chunk = next(chunk for chunk in sample_chunks() if LINCOLN.encode() in chunk)
    marc8 = chunk[:9] + b" " + chunk[10:]  # its text is plain ASCII, so valid MARC-8 too
    report = empty.import_marc(io.BytesIO(b"\xef\xbb\xbf\n" + marc8 + b"\n"))
    assert (report.added, report.problems) == (1, [])
    raw = empty.raw_marc(LINCOLN)
    assert raw is not None and raw[9:10] == b"a"
    assert pymarc.Record(data=raw)["245"]["a"].startswith("The life of Abraham Lincoln")


def test_a_file_that_is_not_marc_is_refused(empty: LocalIndex) -> None:
    for data in (b"", b"card,pin,name\n1234,0000,Ada\n", b"\x00\x01binary"):
        with pytest.raises(NotMarc):
            empty.import_marc(io.BytesIO(data))
    with pytest.raises(NotMarc, match="not well-formed"):
        empty.import_marc(io.BytesIO(b"<html><body>Not found</body>"))
    with pytest.raises(NotMarc, match="no MARCXML"):
        empty.import_marc(io.BytesIO(b"<html><body>Not found</body></html>"))
    assert empty.count() == 0


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record><datafield tag="245" '
        b'ind1="0" ind2="0"><subfield code="a">&b;</subfield></datafield></record></collection>',
        b'<?xml version="1.0"?><!DOCTYPE c SYSTEM "file:///etc/passwd">'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record/></collection>',
        b'<?xml version="1.0"?>' + b"<!-- padding -->" * 400 + b"<!DOCTYPE c []>"
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record/></collection>',
    ],
    ids=["entity expansion", "external entity", "doctype after padding"],
)
def test_marcxml_with_a_doctype_is_refused(empty: LocalIndex, xml: bytes) -> None:
    with pytest.raises(NotMarc, match="DOCTYPE"):
        empty.import_marc(io.BytesIO(xml))
    assert empty.count() == 0


@pytest.mark.parametrize("namespace", [True, False], ids=["MARC namespace", "no namespace"])
def test_marcxml_of_the_same_records_gives_the_same_index(
    index: LocalIndex, empty: LocalIndex, namespace: bool
) -> None:
    xml = as_marcxml(sample_chunks())
    if not namespace:
        xml = xml.replace(b' xmlns="http://www.loc.gov/MARC21/slim"', b"")
    report = empty.import_marc(io.BytesIO(xml))
    assert (report.added, report.skipped) == (2000, 0)
    for query in (Term("history"), Term("tarbell", field="author"), Term("0836932722", "isbn")):
        assert empty.search(query, limit=50) == index.search(query, limit=50)
    for native_id in (LINCOLN, LOOM):
        assert empty.record(native_id) == index.record(native_id)
        from_xml, from_iso = empty.raw_marc(native_id), index.raw_marc(native_id)
        assert from_xml is not None and from_iso is not None
        assert pymarc.Record(data=from_xml).as_dict() == pymarc.Record(data=from_iso).as_dict()


def test_a_marcxml_record_that_cannot_be_read_is_reported_and_the_rest_imported(
    empty: LocalIndex,
) -> None:
    xml = as_marcxml(sample_chunks()[:3])
    cut = xml.index(b"<record", 100)  # the second record
    broken = xml[:cut] + b'<record><leader>x</leader><datafield tag="245"><oops></record>'
    report = empty.import_marc(io.BytesIO(broken + xml[cut:]))
    assert report.added == 1
    assert "the XML is broken at line" in report.problems[0]


def test_a_record_keeps_its_marc_for_the_sru_server(index: LocalIndex) -> None:
    raw = index.raw_marc(LINCOLN)
    assert raw is not None
    marc = pymarc.Record(data=raw, to_unicode=True)
    assert marc["245"]["a"].startswith("The life of Abraham Lincoln")
    assert index.raw_marc("no-such-record") is None
    assert index.record("no-such-record") is None


def test_another_programs_database_is_not_taken_over(tmp_path: Path) -> None:
    other = tmp_path / "libgate.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE patrons (card TEXT)")
    with pytest.raises(IndexUnusable, match="not a libgate catalogue index"):
        LocalIndex(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all" * 100)
    with pytest.raises(IndexUnusable, match="is not a catalogue index"):
        LocalIndex(text)
    with pytest.raises(IndexUnusable, match="check that its folder exists"):
        LocalIndex(tmp_path / "no-such-folder" / "catalogue.db").import_marc(SAMPLE_CATALOGUE)


def test_an_index_nothing_was_imported_into_is_empty_and_makes_no_file(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "catalogue.db")
    assert index.search(Term("lincoln"), limit=10) == (0, [])
    assert index.count() == 0
    assert index.record("00000002") is None
    assert not (tmp_path / "catalogue.db").exists()
    index.import_marc(SAMPLE_CATALOGUE)
    assert index.search(Term("lincoln"), limit=10)[0] > 0


# --- searching ------------------------------------------------------------------------------


def test_a_word_finds_records_with_it_in_any_field(index: LocalIndex) -> None:
    hits, records = index.search(Term("Lincoln"), limit=100)
    assert LINCOLN in [record.native_id for record in records]
    assert hits == len(records)
    assert records[0].source == "local"


def test_fields_narrow_a_search_to_title_author_or_subject(index: LocalIndex) -> None:
    assert LINCOLN in ids(index, Term("lincoln", field="title"))
    assert LINCOLN in ids(index, Term("lincoln", field="subject"))
    assert LINCOLN not in ids(index, Term("lincoln", field="author"))
    by_tarbell = index.search(Term("Tarbell", field="author"), limit=100)[1]
    assert LINCOLN in [record.native_id for record in by_tarbell]
    assert all(any("Tarbell" in name for name in record.authors) for record in by_tarbell)


@pytest.mark.parametrize(
    "isbn", ["0836932722", "0-8369-3272-2", "978-0-8369-3272-0", "9780836932720"]
)
def test_an_isbn_finds_its_record_in_either_form(index: LocalIndex, isbn: str) -> None:
    assert ids(index, Term(isbn, field="isbn")) == [LOOM]
    assert ids(index, Term(isbn)) == [LOOM]


def test_an_isbn_search_for_something_that_is_not_an_isbn_finds_nothing(
    index: LocalIndex,
) -> None:
    assert index.search(Term("0836932723", field="isbn"), limit=10) == (0, [])
    assert index.search(Term("history", field="isbn"), limit=10) == (0, [])


def test_a_phrase_needs_its_words_together_and_in_order(index: LocalIndex) -> None:
    assert LINCOLN in ids(index, Term("abraham lincoln", field="title", phrase=True))
    assert LINCOLN not in ids(index, Term("lincoln abraham", field="title", phrase=True))
    assert LINCOLN in ids(index, Term("lincoln abraham", field="title"))


@pytest.mark.parametrize(
    "query",
    [
        Term("history"),
        Term("united states", field="subject"),
        Boolean("and", Term("war"), Term("history")),
        Boolean("or", Term("poetry", field="title"), Term("poems", field="title")),
        Boolean("not", Term("history"), Term("united", field="subject")),
        Boolean("and", Term("church"), Boolean("not", Term("england"), Term("catholic"))),
    ],
    ids=repr,
)
def test_boolean_searches_find_exactly_the_matching_records(
    index: LocalIndex, expected: dict[str, dict[str, set[str]]], query: Query
) -> None:
    want = {native_id for native_id, fields in expected.items() if _matches(query, fields)}
    hits, records = index.search(query, limit=2000)
    assert want, "the query should match something in the sample"
    assert {record.native_id for record in records} == want
    assert hits == len(want)


def test_a_title_match_ranks_above_a_match_in_the_subjects_only(index: LocalIndex) -> None:
    records = index.search(Term("lincoln"), limit=100)[1]
    in_title = [i for i, r in enumerate(records) if "lincoln" in r.title.lower()]
    elsewhere = [i for i, r in enumerate(records) if "lincoln" not in r.title.lower()]
    assert in_title and elsewhere
    assert max(in_title) < min(elsewhere)


def test_pages_follow_on_from_each_other(index: LocalIndex) -> None:
    hits, first_twenty = index.search(Term("history"), limit=20)
    assert hits > 20
    assert index.search(Term("history"), limit=10, offset=10)[1] == first_twenty[10:]


@pytest.mark.parametrize(
    "words",
    [
        '"',
        '""',
        "*",
        "history*",
        "NEAR(war poetry)",
        "NEAR(",
        "title:",
        "title: war",
        "^war",
        "-war",
        "AND",
        "war AND",
        "OR NOT",
        "(",
        ")",
        "{title}: war",
        "war'; DROP TABLE records;--",
        "Émile Zola",
        "東京",
        "🙂",
        "\x00",
        "a" * 5000,
        "'",
        ":",
        "+",
        "_",
        "war NOT",
    ],
)
def test_hostile_words_are_only_words(index: LocalIndex, words: str) -> None:
    for field in ("any", "title", "author", "subject", "isbn"):
        for phrase in (False, True):
            term = Term(words, field=field, phrase=phrase)
            for query in (term, Boolean("not", Term("history"), term), Boolean("or", term, term)):
                hits, records = index.search(query, limit=5)
                assert hits >= len(records)
    assert index.count() == 2000


def test_operators_typed_as_words_are_searched_as_words(index: LocalIndex) -> None:
    assert (
        index.search(Term("war AND"), limit=10)[0]
        == index.search(Boolean("and", Term("war"), Term("and")), limit=10)[0]
    )
    assert (
        index.search(Term("title: war"), limit=2000)[0]
        == index.search(Boolean("and", Term("title"), Term("war")), limit=2000)[0]
    )


def test_records_and_their_holdings_carry_the_name_of_the_target_that_searches_them(
    empty: LocalIndex,
) -> None:
    fields = [
        pymarc.Field("001", data="branch-1"),
        pymarc.Field("245", pymarc.Indicators("0", "0"), [pymarc.Subfield("a", "Moby Dick")]),
        pymarc.Field("852", pymarc.Indicators(" ", " "), [pymarc.Subfield("b", "Central")]),
    ]
    marc = pymarc.Record(force_utf8=True, fields=fields)
    empty.import_marc(io.BytesIO(marc.as_marc()))
    (stored,) = empty.search(Term("moby"), limit=5)[1]
    assert stored.source == "local" and stored.holdings[0].source == "local"
    (found,) = empty.search(Term("moby"), limit=5, source="branch-catalogue")[1]
    assert found.source == "branch-catalogue"
    assert found.holdings[0].source == "branch-catalogue"
    assert found.holdings[0].location == "Central"
    renamed = LocalIndex(empty.path, source="branch-catalogue")
    assert renamed.record("branch-1") == found
    renamed.close()


def test_a_search_answers_while_an_import_holds_the_write_lock(index: LocalIndex) -> None:
    writer = sqlite3.connect(index.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM records")
    try:
        assert index.search(Term("lincoln", field="title"), limit=5)[0] >= 1
        assert index.count() == 2000
    finally:
        writer.execute("ROLLBACK")
        writer.close()
