"""Facets over merged results, scaled where targets sent a sample, and narrowing by them."""

from __future__ import annotations

from typing import Any

import pytest

from libgate.search import Cluster, Record
from libgate.search._facets import FacetValue, facets, narrow


def cluster(key: str, *sources: str, **fields: Any) -> Cluster:
    fields.setdefault("title", key)
    return Cluster(
        key=key,
        records=[Record(source=s, native_id=key, **fields) for s in sources or ("a",)],
    )


def counted(clusters: list[Cluster], **hits: tuple[int, int]) -> dict[str, list[FacetValue]]:
    """Facets with ``hits`` per source as (hits, fetched); others sent everything."""
    sources = {r.source for c in clusters for r in c.records}
    return facets(
        clusters,
        hits_by_source={s: hits.get(s, (1, 1))[0] for s in sources | hits.keys()},
        fetched_by_source={s: hits.get(s, (1, 1))[1] for s in sources | hits.keys()},
    )


def as_pairs(values: list[FacetValue]) -> list[tuple[str, int]]:
    return [(v.value, v.count) for v in values]


def test_a_cluster_found_at_several_sources_counts_once_per_value() -> None:
    found = counted(
        [
            cluster("x", "a", "b", "c", format="book", language="eng"),
            cluster("y", "a", format="ebook", language="eng"),
        ]
    )
    assert as_pairs(found["format"]) == [("book", 1), ("ebook", 1)]
    assert as_pairs(found["language"]) == [("eng", 2)]
    assert as_pairs(found["source"]) == [("a", 2), ("b", 1), ("c", 1)]
    assert not any(v.estimate for values in found.values() for v in values)


def test_years_fall_into_decades_newest_first_with_everything_old_together() -> None:
    found = counted(
        [
            cluster("a", year=2015),
            cluster("b", year=2019),
            cluster("c", year=1999),
            cluster("d", year=1850),
            cluster("e", year=1899),
            cluster("f"),
        ]
    )
    assert as_pairs(found["year"]) == [
        ("2010\u20132019", 2),
        ("1990\u20131999", 1),
        ("before 1900", 2),
    ]


def test_authors_and_subjects_show_the_top_twenty_by_count() -> None:
    clusters = [
        cluster(f"k{n}", authors=(f"Author {n:02d}", "Prolific, Pat"), subjects=(f"S{n}",))
        for n in range(30)
    ]
    found = counted(clusters)
    assert len(found["author"]) == 20
    assert found["author"][0] == FacetValue("Prolific, Pat", 30)
    assert len(found["subject"]) == 20


def test_names_written_with_and_without_dates_or_accents_are_one_value() -> None:
    found = counted(
        [
            cluster("x", authors=("Brontë, Charlotte, 1816-1855",)),
            cluster("y", authors=("Bronte, Charlotte",)),
        ]
    )
    assert as_pairs(found["author"]) == [("Brontë, Charlotte, 1816-1855", 2)]


def test_counts_from_a_target_that_sent_a_sample_are_scaled_and_marked_estimates() -> None:
    found = counted(
        [
            cluster("x", "big", format="book"),
            cluster("y", "big", format="ebook"),
            cluster("z", "small", format="book"),
        ],
        big=(100, 2),
    )
    assert found["format"] == [FacetValue("book", 51, True), FacetValue("ebook", 50, True)]
    assert found["source"] == [FacetValue("big", 100, True), FacetValue("small", 1, False)]


def test_a_cluster_also_sent_by_a_complete_target_is_not_scaled() -> None:
    found = counted([cluster("x", "big", "small", language="eng")], big=(100, 2))
    assert found["language"] == [FacetValue("eng", 1, False)]


def test_a_target_with_hits_but_no_records_still_shows_as_a_source() -> None:
    found = facets([], hits_by_source={"slow": 40}, fetched_by_source={"slow": 0})
    assert found["source"] == [FacetValue("slow", 40, True)]


CLUSTERS = [
    cluster("eng-book", format="book", language="eng", year=2001),
    cluster("fre-book", format="book", language="fre", year=2001),
    cluster("eng-ebook", format="ebook", language="eng", year=1950),
    cluster("ger-map", format="map", language="ger", authors=("Müller, Hans",)),
]


@pytest.mark.parametrize(
    ("selections", "kept"),
    [
        ({"format": ["book"]}, ["eng-book", "fre-book"]),
        ({"format": ["book", "ebook"]}, ["eng-book", "fre-book", "eng-ebook"]),
        ({"format": ["book"], "language": ["eng"]}, ["eng-book"]),
        ({"year": ["2000\u20132009"], "language": ["eng", "ger"]}, ["eng-book"]),
        ({"author": ["Muller, Hans"]}, ["ger-map"]),
        ({"format": [], "source": ["a"]}, ["eng-book", "fre-book", "eng-ebook", "ger-map"]),
        ({"language": ["spa"]}, []),
    ],
)
def test_narrowing_is_and_across_facets_and_or_within_one(
    selections: dict[str, list[str]], kept: list[str]
) -> None:
    assert [c.key for c in narrow(CLUSTERS, selections)] == kept


def test_narrowing_by_an_unknown_facet_is_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        narrow(CLUSTERS, {"colour": ["red"]})
