"""Merging records from several sources into one cluster per edition."""

from __future__ import annotations

from typing import Any

import pytest

from libgate.search import Cluster, Holding, Merger, Record, summary, work_key
from libgate.search._keys import edition_key, title_key


def book(source: str = "a", native_id: str = "1", **fields: Any) -> Record:
    fields.setdefault("title", "The moonstone")
    fields.setdefault("authors", ("Collins, Wilkie",))
    return Record(source=source, native_id=native_id, **fields)


def merged(*records: Record) -> list[Cluster]:
    merger = Merger()
    merger.add(records)
    return merger.clusters()


def test_records_sharing_an_isbn_are_one_edition_whatever_their_titles_say() -> None:
    clusters = merged(
        book("a", title="Moonstone", isbns=("9780140434088",), year=1998),
        book("b", title="The Moonstone : a romance", isbns=("9780140434088",), year=1999),
    )
    assert len(clusters) == 1
    assert clusters[0].key == "isbn-9780140434088"


def test_an_isbn_shared_by_two_unrelated_titles_is_a_cataloguing_slip_not_a_match() -> None:
    assert (
        len(
            merged(
                book("a", title="Heart disease", isbns=("9780766016514",), authors=()),
                book("b", title="Muscular dystrophy", isbns=("9780766016514",), authors=()),
            )
        )
        == 2
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("The Moonstone", "moonstone"),
        ("THE MOONSTONE.", "the moonstone"),
        ("Les Misérables", "les miserables"),
        ("L'Étranger", "L'étranger"),
        ("Der Zauberberg", "Zauberberg"),
    ],
)
def test_titles_differing_in_case_accents_punctuation_and_articles_match(
    first: str, second: str
) -> None:
    assert work_key(merged(book(title=first))[0]) == work_key(merged(book(title=second))[0])


def test_a_title_with_a_subtitle_merges_with_the_same_title_without_one() -> None:
    clusters = merged(
        book("a", subtitle="a romance", year=1868),
        book("b", year=1868, authors=("Collins, William Wilkie, 1824-1889",)),
    )
    assert len(clusters) == 1
    assert len(clusters[0].records) == 2


def test_hyphenated_and_joined_spellings_of_a_title_match() -> None:
    assert len(merged(book("a", title="The moon-stone!"), book("b", title="Moonstone"))) == 1


def test_a_title_that_is_only_an_article_keeps_it() -> None:
    assert title_key("The") == "the"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("2nd ed.", "Second edition", True),
        ("2d ed., rev. and enl.", "2nd edition", True),
        ("2nd ed.", "3rd edition", False),
        ("2. Aufl.", "Zweite Auflage", True),
        ("Rev. ed.", "Revised edition", True),
        ("Rev. ed.", "2nd ed.", False),
    ],
)
def test_edition_statements_compare_by_the_edition_they_name(a: str, b: str, same: bool) -> None:
    assert (edition_key(a) == edition_key(b)) is same


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({"format": "book"}, {"format": "ebook"}),
        ({"year": 1999}, {"year": 2001}),
        ({"edition": "2nd ed."}, {"edition": "3rd ed."}),
        ({"isbns": ("9780140434088",)}, {"isbns": ("9780140434095",)}),
        ({"language": "eng"}, {"language": "fre"}),
        ({"publisher": "Penguin Books"}, {"publisher": "Oxford University Press"}),
    ],
)
def test_the_same_title_and_author_stay_apart_when_something_known_differs(
    ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    assert len(merged(book("a", **ours), book("b", **theirs))) == 2


def test_unknown_year_edition_and_isbn_do_not_keep_records_apart() -> None:
    assert (
        len(merged(book("a", year=1999, edition="2nd ed.", isbns=("9780140434088",)), book("b")))
        == 1
    )


def test_a_record_without_a_year_cannot_join_two_editions_of_different_years() -> None:
    clusters = merged(book("a", year=1990), book("b"), book("c", year=2005))
    assert [len(cluster.records) for cluster in clusters] == [2, 1]
    assert {r.year for r in clusters[0].records} == {1990, None}


def test_the_guards_hold_for_the_whole_cluster_when_a_record_bridges_two() -> None:
    # "b" joins "a" through the ISBN; "c" matches b's title and year but its edition
    # statement contradicts a's, so it stays out even though b says nothing of editions.
    clusters = merged(
        book("a", isbns=("9780140434088",), edition="2nd ed.", year=1999),
        book("b", isbns=("9780140434088",), year=1999),
        book("c", edition="3rd ed.", year=1999),
    )
    assert [sorted(r.source for r in c.records) for c in clusters] == [["a", "b"], ["c"]]


def test_a_record_linking_two_existing_clusters_unites_them_under_the_older_key() -> None:
    merger = Merger()
    merger.add([book("a", isbns=("9780140434088",))])
    merger.add([book("b", title="Moonstone", authors=(), isbns=("9780140434095",))])
    first_key = merger.clusters()[0].key
    assert len(merger.clusters()) == 2
    merger.add([book("c", isbns=("9780140434088", "9780140434095"))])
    assert [sorted(r.source for r in c.records) for c in merger.clusters()] == [["a", "b", "c"]]
    assert merger.clusters()[0].key == first_key


def test_a_record_does_not_bridge_to_an_unrelated_title_through_a_second_isbn() -> None:
    clusters = merged(
        book("a", isbns=("9780140434088",)),
        book("b", title="Armadale", isbns=("9780140434095",)),
        book("c", isbns=("9780140434088", "9780140434095")),
    )
    assert [sorted(r.source for r in c.records) for c in clusters] == [["a", "c"], ["b"]]


def test_records_arriving_target_by_target_cluster_as_if_they_came_together() -> None:
    records = [
        book("a", year=1999, isbns=("9780140434088",)),
        book("b", year=1999),
        book("c", year=2005, edition="2nd ed."),
        book("d", title="Armadale", year=1999),
        book("e", year=2005, isbns=("9780140434095",)),
    ]
    merger = Merger()
    for record in records:
        merger.add([record])
    grouped = [sorted(r.source for r in c.records) for c in merger.clusters()]
    assert grouped == [sorted(r.source for r in c.records) for c in merged(*records)]
    assert grouped == [["a", "b"], ["c", "e"], ["d"]]


def test_cluster_keys_are_unique_even_for_look_alike_editions() -> None:
    clusters = merged(
        book("a", language="eng"), book("b", language="fre"), book("c", language="ger")
    )
    assert len({cluster.key for cluster in clusters}) == 3


def test_editions_of_one_work_share_a_work_key() -> None:
    first, second = merged(book("a", year=1868), book("b", title="Moonstone!", year=1999))
    assert work_key(first) == work_key(second) == "moonstone/collins"
    assert work_key(merged(book("c", title="Armadale"))[0]) != work_key(first)


def test_the_summary_takes_the_most_complete_record_and_unites_the_lists() -> None:
    sparse = book("a", "a-1", title="Moonstone", holdings=(Holding("a", "Central", "823 COL"),))
    rich = book(
        "b",
        "b-7",
        subtitle="a romance",
        authors=("Collins, Wilkie", "Sayers, Dorothy L."),
        isbns=("9780140434088",),
        year=1999,
        publisher="Penguin",
        language="eng",
        subjects=("Detective and mystery stories",),
    )
    extra = book("c", "c-3", isbns=("9780140434088", "9780140434095"), subjects=("India",))
    (cluster,) = merged(sparse, rich, extra)
    shown = summary(cluster)
    assert shown["title"] == "The moonstone"
    assert shown["subtitle"] == "a romance"
    assert shown["authors"] == ["Collins, Wilkie", "Sayers, Dorothy L."]
    assert shown["isbns"] == ["9780140434088", "9780140434095"]
    assert shown["subjects"] == ["Detective and mystery stories", "India"]
    assert (shown["year"], shown["publisher"], shown["format"]) == (1999, "Penguin", "book")
    assert shown["sources"] == [
        {"source": "a", "native_id": "a-1"},
        {"source": "b", "native_id": "b-7"},
        {"source": "c", "native_id": "c-3"},
    ]
    assert shown["holdings"] == [
        {"source": "a", "location": "Central", "call_number": "823 COL", "status": ""},
        {"source": "b", "location": "", "call_number": "", "status": ""},
        {"source": "c", "location": "", "call_number": "", "status": ""},
    ]


def test_records_sharing_an_isbn_but_naming_different_editions_stay_apart() -> None:
    clusters = merged(
        book("a", isbns=("9780140434088",), edition="2nd ed."),
        book("b", isbns=("9780140434088",), edition="Third edition"),
    )
    assert len(clusters) == 2
