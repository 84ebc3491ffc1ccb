import random
from collections.abc import Mapping
from typing import Literal

import pytest

from libgate.search.query import (
    BIB1_ATTRIBUTES,
    FIELDS,
    STANDARD_CQL_INDEXES,
    Boolean,
    Query,
    QuerySyntaxError,
    Term,
    Translation,
    parse,
    parse_cql,
    to_cql,
    to_pqf,
)
from libgate.search.query._ast import Field
from libgate.search.query._build import make_term
from tests.search._query_strings import fuzz_strings
from tests.search.test_query_parse import PIECES, SEEDS

# As the shared Zebra recipe answers: no subject or ISBN index.
ZEBRA_CQL = {"any": "cql.serverChoice", "title": "dc.title", "author": "dc.creator"}
ZEBRA_BIB1 = {"any": "1016", "title": "4", "author": "1003"}


def cql(text: str) -> str:
    return to_cql(parse(text), STANDARD_CQL_INDEXES).text


def pqf(text: str) -> str:
    return to_pqf(parse(text), BIB1_ATTRIBUTES).text


def test_cql_names_each_field_by_its_index() -> None:
    assert cql('title:"the hobbit" author:tolkien') == (
        'dc.title="the hobbit" and dc.creator="tolkien"'
    )
    assert cql("isbn:0261103288 subject:dragons") == (
        'bath.isbn="0261103288" and dc.subject="dragons"'
    )


def test_cql_asks_for_several_words_with_all_and_a_phrase_with_equals() -> None:
    assert cql("united states") == 'cql.serverChoice all "united states"'
    assert cql('"united states"') == 'cql.serverChoice="united states"'


def test_cql_brackets_only_where_grouping_would_change_or_be_unclear() -> None:
    assert cql("a OR b OR c") == (
        'cql.serverChoice="a" or cql.serverChoice="b" or cql.serverChoice="c"'
    )
    assert cql("(a OR b) c NOT d") == (
        '((cql.serverChoice="a" or cql.serverChoice="b") and cql.serverChoice="c")'
        ' not cql.serverChoice="d"'
    )
    assert cql("a OR (b NOT c)") == (
        'cql.serverChoice="a" or (cql.serverChoice="b" not cql.serverChoice="c")'
    )


def test_cql_escapes_characters_that_would_mask_anchor_or_end_the_term() -> None:
    query = Term('say "hi"\\ * ? ^', phrase=True)
    assert to_cql(query, STANDARD_CQL_INDEXES).text == (r'cql.serverChoice="say \"hi\"\\ \* \? \^"')


def test_cql_quotes_words_that_are_cql_keywords() -> None:
    assert cql("and OR sortby") == 'cql.serverChoice="and" or cql.serverChoice="sortby"'


def test_a_field_the_target_lacks_is_searched_as_any_word_with_a_note() -> None:
    translation = to_cql(parse("subject:dragons subject:gold title:hobbit"), ZEBRA_CQL)
    assert translation == Translation(
        'cql.serverChoice="dragons" and cql.serverChoice="gold" and dc.title="hobbit"',
        ("subject searches are not supported here; searched as any word",),
    )


def test_with_no_mapping_at_all_any_word_is_cql_server_choice() -> None:
    assert to_cql(parse("title:hobbit"), {}).text == 'cql.serverChoice="hobbit"'


def test_an_index_name_cql_could_not_carry_is_not_used() -> None:
    translation = to_cql(parse("title:hobbit"), {"title": 'dc.title="x" or', "any": "kw"})
    assert translation.text == 'kw="hobbit"'
    assert translation.diagnostics == (
        "title searches are not supported here; searched as any word",
    )


def test_pqf_gives_each_field_its_bib1_use_attribute() -> None:
    assert pqf("title:hobbit author:tolkien") == (
        '@and @attr 1=4 @attr 4=2 "hobbit" @attr 1=1003 @attr 4=2 "tolkien"'
    )


def test_pqf_asks_for_a_phrase_with_structure_phrase_and_words_with_structure_word() -> None:
    assert pqf('title:"the hobbit"') == '@attr 1=4 @attr 4=1 "the hobbit"'
    assert pqf("war and peace") == (
        '@and @and @attr 1=1016 @attr 4=2 "war" @attr 1=1016 @attr 4=2 "and"'
        ' @attr 1=1016 @attr 4=2 "peace"'
    )


def test_pqf_writes_booleans_before_their_operands() -> None:
    assert pqf("(a OR b) NOT c") == (
        '@not @or @attr 1=1016 @attr 4=2 "a" @attr 1=1016 @attr 4=2 "b" @attr 1=1016 @attr 4=2 "c"'
    )


def test_pqf_quotes_every_term_and_escapes_quotes_and_backslashes() -> None:
    query = Term('@and "x"\\y', phrase=True)
    assert to_pqf(query, BIB1_ATTRIBUTES).text == r'@attr 1=1016 @attr 4=1 "@and \"x\"\\y"'


def test_pqf_searches_an_unmapped_or_malformed_field_as_any_word_with_a_note() -> None:
    translation = to_pqf(parse("subject:dragons author:smaug"), {"author": "1=1003"})
    assert translation == Translation(
        '@and @attr 1=1016 @attr 4=2 "dragons" @attr 1=1016 @attr 4=2 "smaug"',
        (
            "subject searches are not supported here; searched as any word",
            "author searches are not supported here; searched as any word",
        ),
    )


def test_zebra_mappings_note_only_the_fields_zebra_lacks() -> None:
    query = parse("title:a author:b isbn:c")
    assert to_pqf(query, ZEBRA_BIB1).diagnostics == (
        "isbn searches are not supported here; searched as any word",
    )


WORDS = ["hobbit", "War", "and", "OR", "prox", "sortby", "o'brien", "café", "x=y", "a/b", "<>"]
WORDS += ["(paren)", 'say"', "back\\slash", "star*", "what?", "^caret", "dc.title", "ß", "!"]


def random_query(rng: random.Random, depth: int = 0) -> Query:
    if depth > 3 or rng.random() < 0.4:
        words = rng.sample(WORDS, rng.randint(1, 3))
        field: Field = rng.choice(("any", "title", "author", "subject", "isbn"))
        term = make_term(words, field, phrase=rng.random() < 0.5)
        assert term is not None
        return term
    op: Literal["and", "or", "not"] = rng.choice(("and", "or", "not"))
    return Boolean(op, random_query(rng, depth + 1), random_query(rng, depth + 1))


def test_any_query_survives_a_trip_through_cql_and_back() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        query = random_query(rng)
        translation = to_cql(query, STANDARD_CQL_INDEXES)
        assert translation.diagnostics == ()
        assert parse_cql(translation.text) == query, translation.text


def test_whatever_the_search_box_accepts_translates_and_reads_back_the_same() -> None:
    checked = 0
    for text in fuzz_strings(SEEDS, PIECES, 5000, seed=11):
        try:
            query = parse(text)
        except QuerySyntaxError:
            continue
        assert parse_cql(to_cql(query, STANDARD_CQL_INDEXES).text) == query
        assert to_pqf(query, BIB1_ATTRIBUTES).text.count('"') % 2 == 0
        checked += 1
    assert checked > 4000


@pytest.mark.parametrize("mapping", [STANDARD_CQL_INDEXES, BIB1_ATTRIBUTES])
def test_the_standard_mappings_cover_every_field(mapping: Mapping[str, str]) -> None:
    assert set(mapping) == set(FIELDS)
