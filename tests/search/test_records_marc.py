"""MARC 21 and MARCXML records in the common model, checked against real Library of
Congress records (libgate's demo catalogue) and small hand-made ones."""

from __future__ import annotations

import time

import pymarc
import pytest

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import FORMATS, Holding, Record
from libgate.search.records import (
    MARC_NS,
    XmlRefused,
    marc_from_marcxml,
    marcxml,
    parse_xml,
    record_from_marc,
    record_from_marcxml,
)


@pytest.fixture(scope="module")
def loc() -> list[pymarc.Record]:
    with SAMPLE_CATALOGUE.open("rb") as handle:
        records = [record for record in pymarc.MARCReader(handle) if record is not None]
    assert len(records) == 2000
    return records


def by_id(records: list[pymarc.Record], control_number: str) -> pymarc.Record:
    return next(r for r in records if (r["001"].data or "").strip() == control_number)


def marc(leader: str = "00000nam a2200000 a 4500", *fields: pymarc.Field) -> pymarc.Record:
    return pymarc.Record(leader=leader, fields=list(fields))


def field(tag: str, *pairs: str, ind: str = "  ") -> pymarc.Field:
    subfields = [pymarc.Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return pymarc.Field(tag, pymarc.Indicators(ind[0], ind[1]), subfields)


def control(tag: str, data: str) -> pymarc.Field:
    return pymarc.Field(tag, data=data)


def fixed(date1: str = "2001", form: str = " ", language: str = "eng") -> pymarc.Field:
    # 008 for books: date1 at 07-10, form of item at 23, language at 35-37.
    data = f"010101s{date1}    enk           000 0 {language} d"
    return control("008", data[:23] + form + data[24:])


def test_every_sample_record_converts_and_has_a_title(loc: list[pymarc.Record]) -> None:
    records = [record_from_marc(m, source="loc") for m in loc]
    assert all(r.title for r in records)
    assert all(r.format in FORMATS for r in records)
    assert len({r.native_id for r in records}) == 2000


def test_a_conference_record_with_four_isbn10s_reads_as_catalogued(
    loc: list[pymarc.Record],
) -> None:
    record = record_from_marc(by_id(loc, "00001525"), source="loc")
    assert record == Record(
        source="loc",
        native_id="00001525",
        title="IGARSS 2000",
        subtitle=(
            "proceedings : IEEE 2000 International Geoscience and Remote Sensing Symposium"
            " : taking the pulse of the planet, the role of remote sensing in managing the"
            " environment : 24-28 July, 2000, Hilton Hawaiian Village, Honolulu, Hawaii, USA"
        ),
        authors=("International Geoscience and Remote Sensing Symposium", "Stein, Tammy I."),
        isbns=("9780780363595", "9780780363601", "9780780363618", "9780780363625"),
        publisher="Institute of Electrical and Electronics Engineers",
        year=2000,
        format="book",
        language="eng",
        subjects=(
            "Earth sciences -- Remote sensing -- Congresses",
            "Remote sensing -- Congresses",
        ),
    )


def test_an_rda_record_takes_publisher_from_264_and_skips_works_and_collections(
    loc: list[pymarc.Record],
) -> None:
    # 700 12 with $t names a story in the book; 710 with $5 names the LC collection.
    record = record_from_marc(by_id(loc, "00002115"), source="loc")
    assert record == Record(
        source="loc",
        native_id="00002115",
        title="The bewitched fiddle, and other Irish tales",
        authors=("MacManus, Seumas",),
        publisher="Doubleday & McClure Co.",
        year=1900,
        format="book",
        language="eng",
        subjects=("Ireland -- Social life and customs -- Fiction",),
    )


def test_a_greek_revised_edition_keeps_initials_and_abbreviations(
    loc: list[pymarc.Record],
) -> None:
    record = record_from_marc(by_id(loc, "00005034"), source="loc")
    assert record == Record(
        source="loc",
        native_id="00005034",
        title="The Medea of Euripides",
        authors=("Euripides", "Allen, F. D.", "Moore, Clifford Herschel"),
        edition="Rev. ed. by Clifford H. Moore, Ph. D.",
        publisher="Ginn & Co.",
        year=1900,
        format="book",
        language="gre",
        subjects=("Medea -- Drama",),
    )


def test_marcxml_round_trip_gives_the_same_record_for_every_sample(
    loc: list[pymarc.Record],
) -> None:
    for original in loc:
        element = parse_xml(marcxml(original))
        assert record_from_marcxml(element, source="loc") == record_from_marc(
            original, source="loc"
        )


def test_a_control_character_in_fixed_position_data_becomes_a_blank_in_place(
    loc: list[pymarc.Record],
) -> None:
    damaged = loc[0]
    fixed = damaged["008"]
    assert fixed is not None
    fixed.data = fixed.data[:7] + "\x01" + fixed.data[8:]  # a date, read by position
    back = marc_from_marcxml(parse_xml(marcxml(damaged)))
    assert back["008"].data == fixed.data[:7] + " " + fixed.data[8:]


def test_marcxml_conversion_speed_is_reported(loc: list[pymarc.Record]) -> None:
    body = b"".join(marcxml(m) for m in loc)
    document = b"<collection xmlns='" + MARC_NS.encode() + b"'>" + body + b"</collection>"
    started = time.perf_counter()
    root = parse_xml(document)
    parsed = time.perf_counter()
    records = [record_from_marcxml(element, source="loc") for element in root]
    converted = time.perf_counter()
    assert len(records) == len(loc)
    print(
        f"\nMARCXML: {len(document) / 1e6:.1f} MB parsed in {(parsed - started) * 1e3:.0f} ms; "
        f"{(converted - parsed) / len(records) * 1e3:.3f} ms per record element to Record"
    )


def test_marcxml_is_a_slim_record_element_with_the_fields_in_order() -> None:
    original = marc(
        "00000nam a2200000 a 4500", control("001", "b123"), field("245", "a", "Title /")
    )
    root = parse_xml(marcxml(original))
    assert root.tag == f"{{{MARC_NS}}}record"
    assert [child.tag.split("}")[1] for child in root] == ["leader", "controlfield", "datafield"]
    assert marc_from_marcxml(root)["245"]["a"] == "Title /"


def test_characters_xml_cannot_carry_are_dropped_from_marcxml() -> None:
    original = marc("00000nam a2200000 a 4500", field("245", "a", "Bad\x1bescape\x00"))
    assert record_from_marcxml(parse_xml(marcxml(original)), source="x").title == "Badescape"


def test_marcxml_without_a_namespace_or_inside_a_collection_is_read() -> None:
    xml = b"""<collection><!-- from a test --><record>
        <leader>00000nam</leader>
        <controlfield tag="001">42</controlfield>
        <datafield tag="245" ind1="1" ind2="0"><subfield code="a">Plain :</subfield>
        <subfield code="b">no namespace.</subfield></datafield>
    </record></collection>"""
    record = record_from_marcxml(parse_xml(xml), source="z")
    assert (record.native_id, record.title, record.subtitle) == ("42", "Plain", "no namespace")


def test_xml_without_a_marc_record_is_refused_in_plain_words() -> None:
    with pytest.raises(XmlRefused, match="not MARCXML"):
        marc_from_marcxml(parse_xml(b"<dc><title>x</title></dc>"))


def test_native_id_is_the_001_else_the_one_given_else_empty() -> None:
    with_001 = marc("00000nam a2200000 a 4500", control("001", " 77 "), field("245", "a", "T"))
    without = marc("00000nam a2200000 a 4500", field("245", "a", "T"))
    assert record_from_marc(with_001, source="s", native_id="9").native_id == "77"
    assert record_from_marc(without, source="s", native_id="9").native_id == "9"
    assert record_from_marc(without, source="s").native_id == ""


def test_title_joins_part_number_and_name_and_ignores_cancelled_isbns() -> None:
    record = record_from_marc(
        marc(
            "00000nam a2200000 a 4500",
            field("020", "a", "0-19-852663-6 (pbk.)", "z", "0198526644"),
            field("020", "a", "9780198526636"),
            field("245", "a", "Annual report.", "n", "Part 2,", "p", "Finance /"),
        ),
        source="s",
    )
    assert record.title == "Annual report. Part 2. Finance"
    assert record.isbns == ("9780198526636",)


def test_year_falls_back_to_the_publication_statement_when_008_has_none() -> None:
    record = record_from_marc(
        marc(
            "00000nam a2200000 a 4500",
            fixed(date1="19uu", language="   "),
            field("245", "a", "T"),
            field("264", "c", "©2011", ind=" 4"),
            field("264", "b", "[s.n.],", "c", "[2009?]", ind=" 1"),
            field("264", "b", "[Printed for the author],", ind=" 2"),
            field("264", "b", "Printer Ltd", ind=" 3"),
        ),
        source="s",
    )
    assert record.year == 2009
    assert record.language == ""
    assert record.publisher == "Printed for the author"


@pytest.mark.parametrize(
    ("leader", "fields", "expected"),
    [
        ("00000nam a2200000 a 4500", [fixed()], "book"),
        ("00000cam a2200000 a 4500", [control("007", "cr |||"), fixed()], "book"),
        ("00000nam a2200000 a 4500", [fixed(form="o")], "ebook"),
        ("00000nam a2200000 a 4500", [field("338", "a", "online resource")], "ebook"),
        ("00000nam a2200000 a 4500", [field("245", "h", "[electronic resource]")], "ebook"),
        ("00000nam a2200000 a 4500", [control("007", "cr")], "ebook"),
        ("00000nas a2200000 a 4500", [fixed(form="o")], "serial"),
        ("00000nai a2200000 a 4500", [], "serial"),
        ("00000nim a2200000 a 4500", [], "audiobook"),
        ("00000njm a2200000 a 4500", [], "music"),
        ("00000ncm a2200000 a 4500", [], "music"),
        ("00000ngm a2200000 a 4500", [], "video"),
        ("00000nem a2200000 a 4500", [], "map"),
        ("00000nrm a2200000 a 4500", [], "other"),
        ("00000nmm a2200000 a 4500", [control("008", " " * 26 + "d" + " " * 13)], "ebook"),
        ("00000nmm a2200000 a 4500", [control("008", " " * 26 + "g" + " " * 13)], "other"),
    ],
)
def test_format_follows_the_leader_and_physical_description(
    leader: str, fields: list[pymarc.Field], expected: str
) -> None:
    record = record_from_marc(marc(leader, field("245", "a", "T"), *fields), source="s")
    assert record.format == expected


def test_holdings_come_from_852_and_koha_952_with_status_in_words() -> None:
    record = record_from_marc(
        marc(
            "00000nam a2200000 a 4500",
            field("245", "a", "T"),
            field("852", "a", "Town Council", "b", "Central Library,", "h", "823.914", "i", "SMI"),
            field("952", "a", "CEN", "b", "NOR", "o", "F SMI"),
            field("952", "b", "SOU", "o", "F SMI", "q", "2026-12-01 23:59:00"),
            field("952", "b", "CEN", "o", "R 823", "7", "1"),
            field("952", "b", "CEN", "1", "2", "7", "1"),
        ),
        source="town",
    )
    assert record.holdings == (
        Holding("town", "Central Library", "823.914 SMI", ""),
        Holding("town", "NOR", "F SMI", "Available"),
        Holding("town", "SOU", "F SMI", "On loan until 2026-12-01"),
        Holding("town", "CEN", "R 823", "Not for loan"),
        Holding("town", "CEN", "", "Lost"),
    )


def test_a_damaged_marcxml_record_still_converts_what_it_can() -> None:
    xml = b"""<record><leader>short</leader><controlfield>no tag</controlfield>
        <datafield><subfield>no code</subfield></datafield>
        <datafield tag="245"><subfield code="a">Survivor</subfield></datafield></record>"""
    record = record_from_marcxml(parse_xml(xml), source="s")
    assert (record.title, record.format, record.year) == ("Survivor", "other", None)
