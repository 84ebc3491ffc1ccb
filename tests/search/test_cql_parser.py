import time

import pytest

from libgate.search.query import Boolean, CqlError, Term, parse_cql
from tests.search._query_strings import fuzz_strings


@pytest.mark.parametrize(
    ("cql", "query"),
    [
        ("hobbit", Term("hobbit")),
        ('"the hobbit"', Term("the hobbit", phrase=True)),
        ("dc.title=hobbit", Term("hobbit", "title")),
        ("DC.Title = Hobbit", Term("Hobbit", "title")),
        ("title all hobbit", Term("hobbit", "title")),
        ('dc.creator all "j r r tolkien"', Term("j r r tolkien", "author")),
        ('dc.title="the hobbit"', Term("the hobbit", "title", phrase=True)),
        ('dc.title=="the hobbit"', Term("the hobbit", "title", phrase=True)),
        ('dc.title adj "the hobbit"', Term("the hobbit", "title", phrase=True)),
        ('dc.title exact "the hobbit"', Term("the hobbit", "title", phrase=True)),
        ('dc.title cql.adj "the hobbit"', Term("the hobbit", "title", phrase=True)),
        ("dc.subject any dragons", Term("dragons", "subject")),
        ("bath.isbn=0261103288", Term("0261103288", "isbn")),
        ("cql.anywhere=x", Term("x")),
        ("cql.keywords=x", Term("x")),
        ("cql.serverChoice=x", Term("x")),
        ("author=x", Term("x", "author")),
        ("subject=x", Term("x", "subject")),
        ("isbn=x", Term("x", "isbn")),
        ("dc.title =/relevant hobbit", Term("hobbit", "title")),
    ],
)
def test_supported_clauses(cql: str, query: Term) -> None:
    assert parse_cql(cql) == query


def test_any_is_one_word_or_another() -> None:
    assert parse_cql('dc.subject any "dragons gold elves"') == Boolean(
        "or",
        Boolean("or", Term("dragons", "subject"), Term("gold", "subject")),
        Term("elves", "subject"),
    )


def test_booleans_group_to_the_left_at_equal_strength_unless_bracketed() -> None:
    a, b, c = Term("a"), Term("b"), Term("c")
    assert parse_cql("a or b and c") == Boolean("and", Boolean("or", a, b), c)
    assert parse_cql("a OR (b NOT c)") == Boolean("or", a, Boolean("not", b, c))


def test_quoted_terms_unescape_and_keep_escaped_masking_characters_literal() -> None:
    assert parse_cql(r'"say \"hi\" \\ \* \? \^"') == Term('say "hi" \\ * ? ^', phrase=True)


def test_keywords_can_be_terms_where_a_term_is_due() -> None:
    assert parse_cql("dc.title = and") == Term("and", "title")
    assert parse_cql('"or"') == Term("or")


@pytest.mark.parametrize(
    ("cql", "diagnostic", "details"),
    [
        ("", 10, "expected a search term, found end of query"),
        ("cats dogs", 10, "expected a search term, found end of query"),
        ("(cats", 10, "expected ')', found end of query"),
        ("cats)", 10, "unexpected ')'"),
        ('"cats', 10, "a quoted term is not closed"),
        ("cats and", 10, "expected a search term, found end of query"),
        ("dc.title = ", 10, "expected a search term, found end of query"),
        ("dc.title =/", 10, "expected a modifier name, found end of query"),
        ("x" * 4001, 12, "the most is 4000"),
        ("(" * 21 + "a" + ")" * 21, 13, "more than 20 levels of brackets"),
        ("rec.id=1", 15, "rec"),
        ("dc.format=book", 16, "dc.format"),
        ("shelfmark=x", 16, "shelfmark"),
        ("dc.title > x", 19, ">"),
        ("dc.title within x", 19, "within"),
        ("dc.title =/stem x", 20, "stem"),
        ('dc.title=""', 27, ""),
        ('dc.title="  "', 27, ""),
        ("hobb*", 28, "hobb*"),
        ("hobbi?", 28, "hobbi?"),
        ("^hobbit", 31, "^hobbit"),
        ("a prox b", 37, "prox"),
        (" or ".join("x" * 102), 38, "the most is 100"),
        ('dc.title any "' + "x " * 102 + '"', 38, "the most is 100"),
        ("a and/rel.algorithm=cori b", 46, "rel.algorithm"),
        ('> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title=x', 48, ""),
        ("hobbit sortby dc.date/sort.descending", 80, "sortby"),
    ],
)
def test_what_is_not_supported_gets_its_sru_diagnostic(
    cql: str, diagnostic: int, details: str
) -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql(cql)
    assert raised.value.diagnostic == diagnostic
    assert raised.value.uri == f"info:srw/diagnostic/1/{diagnostic}"
    assert details in raised.value.details


def test_the_diagnostic_carries_the_registry_message() -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql("dc.format=book")
    assert (raised.value.message, raised.value.details) == ("Unsupported index", "dc.format")
    assert str(raised.value) == "Unsupported index: dc.format"


SEEDS = [
    'dc.title all "the hobbit" and dc.creator=tolkien',
    '(cql.serverChoice="war" or dc.subject any "peace") not bath.isbn==0261103288',
    'title adj "say \\"hi\\"" prox/unit=word x sortby dc.date',
    '> dc="info:x" dc.title =/relevant/stem hobbit',
]
PIECES = [*' ()="<>/\\*?^', "and", "or", "not", "prox", "sortby", "dc.title", "all", "any"]
PIECES += ["==", "<=", "x.y", "word", '"quoted"', "\x00", "é"]


def test_ten_thousand_random_and_mangled_cql_queries_give_a_query_or_a_diagnostic() -> None:
    outcomes: dict[int, int] = {}
    started = time.perf_counter()
    for text in fuzz_strings(SEEDS, PIECES, 10_000, seed=9):
        try:
            parse_cql(text)
        except CqlError as error:
            assert error.message
            outcomes[error.diagnostic] = outcomes.get(error.diagnostic, 0) + 1
        else:
            outcomes[0] = outcomes.get(0, 0) + 1
    elapsed = time.perf_counter() - started
    print(f"outcomes by diagnostic (0 = parsed): {sorted(outcomes.items())}")
    print(f"{elapsed * 1e6 / 10_000:.0f} µs per query")
    assert outcomes.get(0, 0) > 200 and outcomes.get(10, 0) > 200
