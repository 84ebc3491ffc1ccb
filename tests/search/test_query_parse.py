import time

import pytest

from libgate.search.query import Boolean, QuerySyntaxError, Term, parse, terms
from libgate.search.query._build import leaves
from tests.search._query_strings import fuzz_strings


def test_words_side_by_side_are_all_wanted_in_one_term() -> None:
    assert parse("war and peace") == Term("war and peace")


def test_only_upper_case_words_are_operators() -> None:
    assert parse("war AND peace") == Boolean("and", Term("war"), Term("peace"))
    assert parse("cats or dogs") == Term("cats or dogs")


def test_a_quoted_phrase_keeps_its_words_together() -> None:
    assert parse('"the hobbit"') == Term("the hobbit", phrase=True)


def test_a_field_prefix_applies_to_the_next_word_or_phrase_only() -> None:
    assert parse('title:"the hobbit" author:tolkien') == Boolean(
        "and", Term("the hobbit", "title", phrase=True), Term("tolkien", "author")
    )
    assert parse("title:war peace") == Boolean("and", Term("war", "title"), Term("peace"))


def test_a_field_prefix_before_brackets_applies_inside_them() -> None:
    assert parse("title:(hobbit OR author:tolkien)") == Boolean(
        "or", Term("hobbit", "title"), Term("tolkien", "author")
    )


def test_prefixes_are_read_whatever_their_case() -> None:
    assert parse("ISBN:9780261103283") == Term("9780261103283", "isbn")


def test_an_unknown_prefix_is_part_of_the_word() -> None:
    assert parse("foo:bar") == Term("foo:bar")


def test_and_binds_tighter_than_or() -> None:
    assert parse("a OR b c") == Boolean("or", Term("a"), Term("b c"))
    assert parse("a b OR c") == Boolean("or", Term("a b"), Term("c"))


def test_brackets_group() -> None:
    assert parse("(a OR b) c") == Boolean("and", Boolean("or", Term("a"), Term("b")), Term("c"))


def test_not_leaves_out_what_follows_it() -> None:
    assert parse("cats NOT dogs") == Boolean("not", Term("cats"), Term("dogs"))
    assert parse("NOT dogs cats") == Boolean("not", Term("cats"), Term("dogs"))
    assert parse("cats AND NOT dogs NOT mice") == Boolean(
        "not", Boolean("not", Term("cats"), Term("dogs")), Term("mice")
    )


def test_a_doubled_not_is_read_as_one() -> None:
    assert parse("cats NOT NOT dogs") == parse("cats NOT dogs")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ('"the hobbit', '"the hobbit"'),
        ("(a OR b", "(a OR b)"),
        ("a OR b)", "a OR b"),
        ("AND history", "history"),
        ("history OR", "history"),
        ("history NOT", "history"),
        ("title: history", "title:history"),
        ("history title:", "history"),
        ("“the hobbit”", '"the hobbit"'),
        ("war\x00peace", "war peace"),
        ("cafe\u0301", "café"),
        ('"" history ()', "history"),
        ('"one"', "one"),
    ],
)
def test_slips_a_search_box_should_forgive(typed: str, meant: str) -> None:
    assert parse(typed) == parse(meant)


@pytest.mark.parametrize(
    ("typed", "complaint"),
    [
        ("", "Type a word"),
        ("  ( ) AND ", "Type a word"),
        ("NOT dogs", "needs something to search for"),
        ("cats OR NOT dogs", "needs something to search for"),
        ("x" * 1001, "too long"),
        (" ".join(["word"] * 51), "too many words"),
        ("(" * 11 + "a", "brackets inside brackets"),
    ],
)
def test_searches_that_cannot_run_are_refused_in_plain_words(typed: str, complaint: str) -> None:
    with pytest.raises(QuerySyntaxError, match=complaint):
        parse(typed)


def test_the_limits_themselves_are_allowed() -> None:
    assert parse("x" * 1000) == Term("x" * 1000)
    fifty = " ".join(["word"] * 50)
    assert parse(fifty) == Term(fifty)
    assert parse("(" * 10 + "a") == Term("a")


SEEDS = [
    'title:"the hobbit" author:tolkien',
    "(war OR peace) NOT history",
    'subject:"world war, 1939-1945" isbn:0-261-10328-3',
    "cats AND (dogs OR mice) NOT birds",
    "o'brien “quoted” café",
]
PIECES = [*"ab ()\"':\\*?^-\t\n\x00\u201c\u201d", "AND", "OR", "NOT", "title:", "isbn:", "x:"]


def test_ten_thousand_random_and_mangled_searches_give_a_query_or_a_plain_refusal() -> None:
    parsed = refused = 0
    started = time.perf_counter()
    for text in fuzz_strings(SEEDS, PIECES, 10_000, seed=4):
        try:
            query = parse(text)
        except QuerySyntaxError as error:
            assert str(error)
            refused += 1
            continue
        parsed += 1
        words = [word for term in leaves(query) for word in term.words.split()]
        assert words and len(words) <= 50
        assert all(term.words == " ".join(term.words.split()) for term in leaves(query))
    elapsed = time.perf_counter() - started
    print(f"parsed {parsed}, refused {refused}, {elapsed * 1e6 / 10_000:.0f} µs per search")
    assert parsed > 5000 and refused > 0


def test_terms_are_the_wanted_words_lower_cased_by_field() -> None:
    query = parse('title:"The Hobbit," author:Tolkien history NOT dragons')
    assert terms(query) == [
        ("title", "the"),
        ("title", "hobbit"),
        ("author", "tolkien"),
        ("any", "history"),
    ]


def test_terms_leave_out_everything_right_of_not_and_keep_repeats() -> None:
    query = parse("a (b NOT (c OR d)) NOT e A")
    assert terms(query) == [("any", "a"), ("any", "b"), ("any", "a")]


def test_terms_keep_punctuation_inside_words() -> None:
    assert terms(parse("isbn:0-261-10328-3 o'brien ...")) == [
        ("isbn", "0-261-10328-3"),
        ("any", "o'brien"),
    ]
