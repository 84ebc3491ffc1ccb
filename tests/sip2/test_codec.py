"""The SIP2 codec: every message both ways, error detection, character sets, and the ways
real systems bend the format."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.support.sip2 import EXAMPLES, WHEN, with_error_detection

from libgate.sip2 import (
    MESSAGES,
    CharacterSetError,
    ChecksumMismatch,
    MalformedMessage,
    Message,
    UnknownMessage,
    checksum,
    decode,
    encode,
    parse_sip2_datetime,
    sip2_datetime,
)

# Known-good vectors from the design brief (SIP2 2.00 error detection).
VECTORS = [
    "990 402.00AY1AZFCB4",
    "97AZFEF5",
    "96AZFEF6",
    "9300CNOV|COOV|CPWES|AY1AZF86B",
    "941AY1AZFDFC",
    "9900302.00AY2AZFCA4",
]


def test_every_sip2_message_has_an_example() -> None:
    assert set(EXAMPLES) == set(MESSAGES)


@pytest.mark.parametrize("vector", VECTORS)
def test_known_checksum_vectors_decode_and_round_trip(vector: str) -> None:
    message = decode(vector.encode() + b"\r", strict=True)
    assert message.checksummed
    assert encode(message) == vector.encode() + b"\r"


@pytest.mark.parametrize("code", sorted(EXAMPLES))
@pytest.mark.parametrize("terminator", [b"\r", b"\r\n"])
@pytest.mark.parametrize("detection", [False, True])
def test_every_message_round_trips_byte_for_byte(
    code: str, terminator: bytes, detection: bool
) -> None:
    wire = with_error_detection(EXAMPLES[code], 7) if detection else EXAMPLES[code].encode("cp850")
    wire = wire.rstrip(b"\r") + terminator
    message = decode(wire, strict=True)
    assert message.code == code
    assert encode(message) == wire


def test_fields_are_read_by_name_and_repeats_keep_their_order() -> None:
    message = decode(EXAMPLES["64"].encode("cp850") + b"\r", strict=True)
    assert message.name == "patron information response"
    assert message.fixed_value("charged_items_count") == "0003"
    assert message.get("AE") == "Ada Lovelace"
    assert message.get_all("AS") == ["30000000000001", "30000000000002"]
    assert message.get("ZZ") is None


def test_unknown_fields_are_kept_in_place() -> None:
    wire = f"24              001{WHEN}AOLIB|XQvendor thing|AA1|AEA|ZZ9|BLY|\r".encode()
    message = decode(wire)
    assert message.field_codes() == ["AO", "XQ", "AA", "AE", "ZZ", "BL"]
    assert encode(message) == wire


def test_a_built_message_decodes_to_the_same_message() -> None:
    built = Message.build(
        "63",
        {"language": "001", "summary": " " * 10},
        [("AO", "LIB"), ("AA", "21234000000001"), ("AD", "Kq12345678Zx")],
        sequence=3,
    )
    assert decode(encode(built), strict=True) == built


def test_a_damaged_message_fails_its_checksum() -> None:
    wire = bytearray(with_error_detection(EXAMPLES["63"]))
    wire[10] ^= 0x01
    with pytest.raises(ChecksumMismatch):
        decode(bytes(wire))


def test_values_that_would_smuggle_fields_are_refused_when_writing() -> None:
    for hostile in ["Ada|BLY", "Ada\rBLY", "Ada\nBLY"]:
        message = Message.build(
            "24",
            {"patron_status": " " * 14, "language": "001"},
            [("AO", "LIB"), ("AA", "1"), ("AE", hostile)],
        )
        with pytest.raises(MalformedMessage):
            encode(message)


@pytest.mark.parametrize("encoding", ["cp850", "latin-1", "utf-8"])
def test_names_survive_each_character_set(encoding: str) -> None:
    name = "Zoë Ångström"
    message = Message.build(
        "24",
        {"patron_status": " " * 14, "language": "001"},
        [("AO", "LIB"), ("AA", "1"), ("AE", name)],
        sequence=1,
    )
    wire = encode(message, encoding=encoding)
    assert decode(wire, encoding=encoding, strict=True).get("AE") == name


def test_text_a_character_set_cannot_carry_is_a_typed_error() -> None:
    message = Message.build(
        "24",
        {"patron_status": " " * 14, "language": "001"},
        [("AO", "LIB"), ("AA", "1"), ("AE", "名前")],
    )
    with pytest.raises(CharacterSetError) as refused:
        encode(message, encoding="cp850")
    # Nothing in the error, or in a traceback of it, quotes the text (it may be a PIN).
    assert "名" not in str(refused.value) and refused.value.__suppress_context__
    with pytest.raises(CharacterSetError):
        decode(b"941\xff\xfe\r", encoding="utf-8")


def test_lenient_parsing_accepts_what_real_systems_send() -> None:
    # No final "|" before the error detection, lower-case checksum, LF alone.
    body = f"24              001{WHEN}AOLIB|AA1|AEAda|BLYAY4AZ".encode()
    sloppy = body + checksum(body).lower().encode() + b"\n"
    message = decode(sloppy)
    assert message.get("BL") == "Y"
    assert message.sequence == 4
    assert not message.closed
    for refused in [sloppy, f"24              001{WHEN}AOLIB|AA1|\r".encode()]:
        with pytest.raises(MalformedMessage):
            decode(refused, strict=True)


def test_strict_parsing_checks_fixed_fields() -> None:
    bad_flag = f"12XYNY{WHEN}AOLIB|AA1|AB2|AJt|\r".encode()
    bad_date = b"17not-a-date-at-all!AOLIB|AB1|\r"
    for wire in [bad_flag, bad_date]:
        decode(wire)  # right lengths: lenient parsing takes them
        with pytest.raises(MalformedMessage):
            decode(wire, strict=True)


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        (b"", MalformedMessage),
        (b"\r", MalformedMessage),
        (b"9\r", MalformedMessage),
        (b"XX\r", MalformedMessage),
        (b"42abc\r", UnknownMessage),
        (b"6300120261128\r", MalformedMessage),
        (b"941|\r", MalformedMessage),
        (b"94|1\r", MalformedMessage),
        (b"941AB\rCD|\r", MalformedMessage),
        (b"941" + b"AFx" * 20000 + b"|\r", MalformedMessage),
    ],
)
def test_malformed_input_is_a_typed_error(wire: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode(wire)


def test_a_message_never_shows_a_pin_or_password_when_printed() -> None:
    login = decode(b"9300CNkiosk|COpa55word|\r")
    patron = decode(EXAMPLES["63"].encode())
    assert "pa55word" not in repr(login)
    assert "Kq12345678Zx" not in repr(patron)
    assert "kiosk" in repr(login)


def test_sip2_dates() -> None:
    moment = dt.datetime(2026, 11, 28, 14, 22, 33, tzinfo=dt.UTC)
    assert sip2_datetime(moment) == "20261128   Z142233"
    assert parse_sip2_datetime("20261128   Z142233") == moment
    assert sip2_datetime(moment.replace(tzinfo=None)) == "20261128    142233"
    assert parse_sip2_datetime(" " * 18) is None
    assert parse_sip2_datetime("2026112x    142233") is None
