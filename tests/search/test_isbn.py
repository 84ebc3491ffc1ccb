"""ISBNs and ISSNs as catalogues write them, reduced to one comparable form."""

from __future__ import annotations

import pytest

from libgate.search.records import isbn10, normalise_isbn, normalise_issn


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9780198526636", "9780198526636"),
        ("978-0-19-852663-6", "9780198526636"),
        ("978 0 19 852663 6", "9780198526636"),
        ("0-19-852663-6 (pbk.)", "9780198526636"),
        ("0198526636", "9780198526636"),
        ("ISBN 0-19-852663-6", "9780198526636"),
        ("URN:ISBN:978-0-19-852663-6", "9780198526636"),
        ("0780363590 (softbound edition)", "9780780363595"),
        ("080442957X", "9780804429573"),
        ("080442957x (hbk.)", "9780804429573"),
        ("0-8044-2957-X", "9780804429573"),
        ("979-10-90636-07-1", "9791090636071"),
        # A price or other number before the ISBN is skipped over.
        ("£12.99 0198526636", "9780198526636"),
        ("0198526637 (bad) 9780198526636", "9780198526636"),
    ],
)
def test_valid_isbns_come_back_as_hyphen_free_isbn13(text: str, expected: str) -> None:
    assert normalise_isbn(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pbk.",
        "0198526637",  # wrong ISBN-10 check digit
        "9780198526637",  # wrong ISBN-13 check digit
        "9770198526636",  # 977 is an ISSN prefix, not an ISBN one
        "019852663",  # too short
        "97801985266361",  # too long
        "X198526636",  # X only as a check digit
        "0198526636X",  # part of a longer number
        "10198526636",  # ditto
        "0--198526636",  # one separator at a time
    ],
)
def test_invalid_isbns_are_none(text: str) -> None:
    assert normalise_isbn(text) is None


@pytest.mark.parametrize(
    ("isbn13", "expected"),
    [
        ("9780198526636", "0198526636"),
        ("9780804429573", "080442957X"),
        ("9791090636071", None),  # 979 ISBNs have no ISBN-10
        ("978019852663", None),
        ("978-0198526636", None),  # takes normalised ISBN-13s only
    ],
)
def test_isbn10_gives_the_ten_digit_form_where_there_is_one(
    isbn13: str, expected: str | None
) -> None:
    assert isbn10(isbn13) == expected


@pytest.mark.parametrize("ten", ["0198526636", "080442957X", "0780363590", "0306406152"])
def test_an_isbn10_survives_the_trip_to_isbn13_and_back(ten: str) -> None:
    isbn13 = normalise_isbn(ten)
    assert isbn13 is not None
    assert isbn10(isbn13) == ten


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0317-8471", "0317-8471"),
        ("03178471", "0317-8471"),
        ("ISSN 0028-0836", "0028-0836"),
        ("URN:ISSN:2434-561x", "2434-561X"),
        ("1050-124X (print)", "1050-124X"),
        ("0317-8472", None),  # wrong check digit
        ("0317-847", None),
        ("", None),
        ("no issn here", None),
    ],
)
def test_issns_are_checked_and_written_with_a_hyphen(text: str, expected: str | None) -> None:
    assert normalise_issn(text) == expected
