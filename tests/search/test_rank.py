"""Ranking merged clusters: BM25 over fields, boosts, and the three sorts."""

from __future__ import annotations

from typing import Any

from libgate.search import Cluster, Record
from libgate.search._rank import Ranking, rank
from libgate.search.query import parse


def cluster(key: str, *sources: str, **fields: Any) -> Cluster:
    fields.setdefault("title", "Untitled")
    return Cluster(
        key=key,
        records=[Record(source=s, native_id=key, **fields) for s in sources or ("a",)],
    )


def keys(clusters: list[Cluster]) -> list[str]:
    return [c.key for c in clusters]


# Filler that makes the query words rare, as they are in a real result set.
FILLER = [
    cluster(f"filler-{n}", title=f"Annual report {n}", subjects=("Finance",)) for n in range(8)
]


def test_a_word_in_the_title_outranks_it_in_a_subject_or_the_publisher() -> None:
    ranked = rank(
        [
            cluster("publisher", title="Tales", publisher="Gardening Press"),
            cluster("subject", title="Tales", subjects=("Gardening",)),
            cluster("title", title="Gardening for all"),
            *FILLER,
        ],
        parse("gardening"),
    )
    assert keys(ranked)[:3] == ["title", "subject", "publisher"]


def test_a_rare_word_counts_for_more_than_a_common_one() -> None:
    common = [cluster(f"c{n}", title=f"History of place {n}") for n in range(6)]
    ranked = rank([*common, cluster("rare", title="Walking"), *FILLER], parse("history walking"))
    assert ranked[0].key == "rare"
    assert ranked[0].score > ranked[1].score > 0


def test_a_fielded_word_only_counts_in_its_field() -> None:
    ranked = rank(
        [
            cluster("by", title="Poems", authors=("Frost, Robert",)),
            cluster("about", title="Frost", authors=("Smith, Ann",)),
            *FILLER,
        ],
        parse("author:frost"),
    )
    assert ranked[0].key == "by"
    assert ranked[1].score == 0


def test_words_after_not_do_not_score() -> None:
    ranked = rank(
        [cluster("cats", title="Cats"), cluster("dogs", title="Dogs"), *FILLER],
        parse("cats NOT dogs"),
    )
    assert ranked[0].key == "cats"
    assert next(c for c in ranked if c.key == "dogs").score == 0


def test_an_exact_title_match_comes_first() -> None:
    ranked = rank(
        [
            cluster("longer", title="The hobbit and the lord of the rings companion"),
            cluster("exact", title="The Hobbit", subtitle="or, there and back again"),
            *FILLER,
        ],
        parse("hobbit"),
    )
    assert ranked[0].key == "exact"
    assert ranked[0].score > 1.5 * ranked[1].score


def test_a_cluster_found_at_several_sources_ranks_higher() -> None:
    ranked = rank(
        [cluster("one", "a", title="Dune"), cluster("three", "a", "b", "c", title="Dune"), *FILLER],
        parse("dune"),
    )
    assert keys(ranked)[:2] == ["three", "one"]


def test_clusters_growing_as_targets_answer_score_as_if_ranked_afresh() -> None:
    """A search ranks its clusters after each answer and keeps what it worked out; a
    copy of a record joining from another library, or a different record joining, must
    leave it where ranking everything at the end would."""
    query = parse("dune")
    ongoing = Ranking(query)
    copied = cluster("copied", "a", title="Dune", year=1965)
    joined = cluster("joined", "a", title="Dune", subjects=("Deserts",))
    alone = cluster("alone", "a", title="Dune messiah", year=1980)
    clusters = [copied, joined, alone, *FILLER]
    ongoing.rank(clusters)
    copied.records.append(Record(source="b", native_id="copied", title="Dune", year=1990))
    joined.records.append(Record(source="c", native_id="j2", title="Dune", subtitle="a novel"))
    kept = [(c.key, c.score) for c in ongoing.rank(clusters, sort="year")]
    assert kept == [(c.key, c.score) for c in Ranking(query).rank(clusters, sort="year")]
    assert keys(ongoing.rank(clusters, sort="year"))[0] == "copied"  # now held from 1990


def test_a_target_weight_lifts_or_lowers_its_records() -> None:
    clusters = [cluster("ours", "local", title="Dune"), cluster("theirs", "far", title="Dune")]
    query = parse("dune")
    assert keys(rank(clusters, query, weights={"far": 2.0}))[:1] == ["theirs"]
    assert keys(rank(clusters, query, weights={"local": 1.5, "far": 0.5}))[:1] == ["ours"]


def test_an_isbn_search_finds_the_edition_whichever_form_was_typed() -> None:
    ranked = rank(
        [cluster("other", title="Dune"), cluster("it", title="Dune", isbns=("9780441172719",))],
        parse("isbn:0-441-17271-7"),
    )
    assert ranked[0].key == "it"
    assert ranked[0].score > 0 == ranked[1].score


def test_sorting_by_year_puts_the_newest_first_and_unknown_years_last() -> None:
    clusters = [
        cluster("unknown", title="Dune"),
        cluster("old", title="Dune", year=1965),
        cluster("new", title="Dune messiah", year=2008),
        cluster("new-better", "a", "b", title="Dune", year=2008),
    ]
    assert keys(rank(clusters, parse("dune"), sort="year")) == [
        "new-better",
        "new",
        "old",
        "unknown",
    ]


def test_sorting_by_title_ignores_case_accents_and_leading_articles() -> None:
    clusters = [
        cluster("z", title="Zen"),
        cluster("e", title="L'Été"),
        cluster("a", title="The apple"),
        cluster("b", title="banana"),
    ]
    assert keys(rank(clusters, parse("fruit"), sort="title")) == ["a", "b", "e", "z"]


def test_every_sort_sets_the_scores() -> None:
    clusters = [cluster("x", title="Dune"), *FILLER]
    for sort in ("relevance", "year", "title"):
        for c in clusters:
            c.score = -1.0
        rank(clusters, parse("dune"), sort=sort)
        assert clusters[0].score > 0
        assert all(c.score == 0 for c in clusters[1:])
