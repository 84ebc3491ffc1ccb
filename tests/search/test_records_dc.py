"""Dublin Core records, as SRU servers send them and as libgate's own SRU server writes
them."""

from __future__ import annotations

import pymarc
import pytest
from lxml import etree

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import Record
from libgate.search.records import (
    DC_NS,
    OAI_DC_NS,
    SRW_DC_NS,
    dublin_core,
    parse_xml,
    record_from_dc,
    record_from_marc,
)


def dc(*elements: tuple[str, str], root: str = f"{{{SRW_DC_NS}}}dc") -> etree._Element:
    prefix, _, name = root[1:].partition("}")
    body = "".join(f"<dc:{tag}>{text}</dc:{tag}>" for tag, text in elements)
    xml = f'<x:{name} xmlns:x="{prefix}" xmlns:dc="{DC_NS}">{body}</x:{name}>'
    return parse_xml(xml.encode())


def test_a_library_of_congress_style_record_reads_into_the_common_model() -> None:
    element = dc(
        ("title", "Child verse : poems grave and gay,"),
        ("creator", "Tabb, John B., 1845-1909."),
        ("contributor", "Allen, F. D., d. 1897"),
        ("type", "text"),
        ("publisher", "Small, Maynard,"),
        ("date", "c1899."),
        ("language", "eng"),
        ("subject", "Children's poetry."),
        ("subject", "Children's poetry"),
        ("identifier", "http://hdl.loc.gov/loc.gdc/scd0001.00162561418"),
        ("identifier", "URN:ISBN:0-19-852663-6 (pbk.)"),
        ("identifier", "ISSN 0317-8471"),
    )
    assert record_from_dc(element, source="loc", native_id="17") == Record(
        source="loc",
        native_id="17",
        title="Child verse",
        subtitle="poems grave and gay",
        authors=("Tabb, John B.", "Allen, F. D."),
        isbns=("9780198526636",),
        issns=("0317-8471",),
        publisher="Small, Maynard",
        year=1899,
        format="book",
        language="eng",
        subjects=("Children's poetry",),
    )


def test_oai_dc_inside_an_sru_record_data_wrapper_is_read() -> None:
    inner = etree.tostring(dc(("title", "Wrapped"), root=f"{{{OAI_DC_NS}}}dc")).decode()
    wrapped = parse_xml(f"<recordData>{inner}</recordData>".encode())
    assert record_from_dc(wrapped, source="s", native_id="1").title == "Wrapped"


def test_only_labelled_or_thirteen_digit_identifiers_count_as_isbns() -> None:
    element = dc(
        ("title", "T"),
        ("identifier", "0198526636"),  # could be an LCCN or a barcode
        ("identifier", "978-0-8044-2957-3 (hbk.)"),
        ("identifier", "isbn 0780363590"),
        ("identifier", "ISBN 0198526637"),  # bad check digit
        ("identifier", "1050-124X"),  # unlabelled: not taken as an ISSN either
    )
    record = record_from_dc(element, source="s", native_id="1")
    assert record.isbns == ("9780804429573", "9780780363595")
    assert record.issns == ()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], "book"),
        ([("type", "Text")], "book"),
        ([("type", "Text"), ("format", "ebook")], "ebook"),
        ([("type", "text"), ("format", "electronic resource")], "ebook"),
        ([("type", "sound recording-nonmusical")], "audiobook"),
        ([("type", "sound recording-musical")], "music"),
        ([("type", "notated music")], "music"),
        ([("type", "MovingImage")], "video"),
        ([("type", "cartographic")], "map"),
        ([("type", "Text"), ("format", "periodical")], "serial"),
        ([("type", "online journal")], "serial"),
        ([("type", "PhysicalObject")], "other"),
    ],
)
def test_format_is_read_from_type_and_format(values: list[tuple[str, str]], expected: str) -> None:
    record = record_from_dc(dc(("title", "T"), *values), source="s", native_id="1")
    assert record.format == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("eng", "eng"), ("EN", "eng"), ("English", "eng"), ("fra", "fre"), ("cy", "wel"), ("", "")],
)
def test_language_comes_back_as_a_marc_code(language: str, expected: str) -> None:
    element = dc(("title", "T"), ("language", language))
    assert record_from_dc(element, source="s", native_id="1").language == expected


@pytest.mark.parametrize(
    ("dates", "expected"),
    [(["n.d.", "[between 1890 and 1899]"], 1890), (["2004-03-01"], 2004), (["n.d."], None)],
)
def test_year_is_the_first_four_digit_year(dates: list[str], expected: int | None) -> None:
    element = dc(("title", "T"), *(("date", date) for date in dates))
    assert record_from_dc(element, source="s", native_id="1").year == expected


def test_a_record_without_a_title_still_converts() -> None:
    assert record_from_dc(dc(("creator", "Anon")), source="s", native_id="1").title == ""


def test_dublin_core_writes_the_srw_dc_shape() -> None:
    record = Record(
        source="s",
        native_id="1",
        title="Title",
        subtitle="a subtitle",
        authors=("Smith, J.",),
        isbns=("9780198526636",),
        issns=("0317-8471",),
        publisher="Pub",
        year=2001,
        format="audiobook",
        language="eng",
        subjects=("Cats -- Fiction",),
    )
    element = dublin_core(record)
    assert element.tag == f"{{{SRW_DC_NS}}}dc"
    assert element.nsmap == {"srw_dc": SRW_DC_NS, "dc": DC_NS}
    assert [(child.tag.split("}")[1], child.text) for child in element] == [
        ("title", "Title : a subtitle"),
        ("creator", "Smith, J."),
        ("subject", "Cats -- Fiction"),
        ("publisher", "Pub"),
        ("date", "2001"),
        ("identifier", "URN:ISBN:9780198526636"),
        ("identifier", "URN:ISSN:0317-8471"),
        ("language", "eng"),
        ("type", "Sound"),
        ("format", "audiobook"),
    ]


def test_dublin_core_round_trip_keeps_what_dc_can_carry_for_every_sample() -> None:
    with SAMPLE_CATALOGUE.open("rb") as handle:
        originals = [record_from_marc(m, source="loc") for m in pymarc.MARCReader(handle) if m]
    assert len(originals) == 2000
    for original in originals:
        xml = etree.tostring(dublin_core(original))
        back = record_from_dc(parse_xml(xml), source="loc", native_id=original.native_id)
        # One title in the sample has " : " in its main part, so compare the whole title.
        assert (back.title, back.subtitle) == (original.title, original.subtitle) or (
            f"{back.title} : {back.subtitle}" == f"{original.title} : {original.subtitle}"
        )
        assert back.authors == original.authors
        assert back.isbns == original.isbns
        assert back.year == original.year
        assert (back.publisher, back.language, back.format, back.subjects) == (
            original.publisher,
            original.language,
            original.format,
            original.subjects,
        )
