"""SIP2 messages for tests: one valid example of each, and error detection for them."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from libgate.sip2 import FrameReader, Message, checksum, decode, encode

LOGIN = {"uid_algorithm": "0", "pwd_algorithm": "0"}
LMS_PASSWORD = "lms-secret"  # the emulator's default SIP2 password
CHECKOUT = {"sc_renewal_policy": "N", "no_block": "N"}

WHEN = "20261128    142233"

# One valid example of every SIP2 2.00 message, as an LMS or a kiosk would write it.
EXAMPLES = {
    "93": "9300CNkiosk1|COsecret|CPMAIN|",
    "94": "941",
    "99": "990 402.00",
    "98": f"98YYYYYN600003{WHEN}2.00AOLIB|AMCentral Library|BXYYYYYYYYYYYYYYYY|AFWelcome|",
    "63": f"63001{WHEN}Y         AOLIB|AA21234000000001|ADKq12345678Zx|BP1|BQ5|",
    "64": f"64              001{WHEN}000100020003000000000000AOLIB|AA21234000000001|"
    "AEAda Lovelace|BZ0010|CA0005|CB0020|BLY|CQY|BHGBP|BV1.50|CC10.00|"
    "BD1 High Street, Leeds|BEada@example.org|BF0113 496 0000|"
    "AS30000000000001|AS30000000000002|AU30000000000003|AFHello Ada|",
    "23": f"23001{WHEN}AOLIB|AA21234000000001|ACterm|ADKq12345678Zx|",
    "24": f"24  Y           001{WHEN}AOLIB|AA21234000000001|AEAda Lovelace|BLY|CQN|",
    "11": f"11YN{WHEN}                  AOLIB|AA21234000000001|AB30000000000001|ACterm|",
    "12": f"121YNY{WHEN}AOLIB|AA21234000000001|AB30000000000001|AJThe Hobbit|AH{WHEN}|",
    "09": f"09N{WHEN}{WHEN}APMAIN|AOLIB|AB30000000000001|ACterm|",
    "10": f"101YNN{WHEN}AOLIB|AB30000000000001|AQMAIN|AJThe Hobbit|CR823.912|",
    "01": f"01N{WHEN}AOLIB|ALCard retained|AA21234000000001|ACterm|",
    "17": f"17{WHEN}AOLIB|AB30000000000001|",
    "18": f"18030001{WHEN}AB30000000000001|AJThe Hobbit|CK001|",
    "19": f"19{WHEN}AOLIB|AB30000000000001|CHsecurity=on|",
    "20": f"201{WHEN}AB30000000000001|",
    "25": f"25{WHEN}AOLIB|AA21234000000001|",
    "26": f"26              001{WHEN}AOLIB|AA21234000000001|AEAda Lovelace|",
    "15": f"15+{WHEN}BSMAIN|AOLIB|AA21234000000001|AB30000000000001|",
    "16": f"161N{WHEN}AOLIB|AA21234000000001|BR3|",
    "29": f"29NN{WHEN}                  AOLIB|AA21234000000001|AB30000000000001|",
    "30": f"301YNN{WHEN}AOLIB|AA21234000000001|AB30000000000001|AJThe Hobbit|",
    "65": f"65{WHEN}AOLIB|AA21234000000001|",
    "66": f"66100020001{WHEN}AOLIB|BM30000000000001|BM30000000000002|BN30000000000003|",
    "35": f"35{WHEN}AOLIB|AA21234000000001|",
    "36": f"36Y{WHEN}AOLIB|AA21234000000001|",
    "37": f"37{WHEN}0100GBPBV2.50|AOLIB|AA21234000000001|",
    "38": f"38Y{WHEN}AOLIB|AA21234000000001|",
    "97": "97",
    "96": "96",
}


def with_error_detection(text: str, sequence: int = 0) -> bytes:
    body = f"{text}AY{sequence}AZ".encode("cp850")
    return body + checksum(body).encode() + b"\r"


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.frames = FrameReader(reader)
        self.writer = writer
        self.sequence = 0

    async def raw(self, data: bytes) -> bytes:
        """The answer to ``data``; b"" when the other side hangs up instead (with a reset or
        a broken pipe too: it may close just as more arrives). The timeout only stops a hung
        test; it is generous because the machine may be busy."""
        self.writer.write(data)
        try:
            async with asyncio.timeout(10):
                return await self.frames.read() or b""
        except (ConnectionResetError, BrokenPipeError):
            return b""

    async def ask(self, code: str, fixed: dict[str, str], *fields: tuple[str, str]) -> Message:
        self.sequence = (self.sequence + 1) % 10
        reply = await self.raw(encode(Message.build(code, fixed, fields, sequence=self.sequence)))
        assert reply, "the emulator hung up"
        answer = decode(reply)
        assert answer.sequence == self.sequence
        return answer

    async def login(self, password: str = LMS_PASSWORD, user: str = "libgate") -> Message:
        return await self.ask("93", LOGIN, ("CN", user), ("CO", password))

    async def patron(self, card: str, pin: str | None, summary: str = "") -> Message:
        fields = [("AO", "LIB"), ("AA", card)] + ([("AD", pin)] if pin is not None else [])
        return await self.ask("63", {"language": "001", "summary": summary.ljust(10)}, *fields)

    async def circulate(
        self, code: str, fixed: dict[str, str], card: str, item: str, *extra: tuple[str, str]
    ) -> Message:
        return await self.ask(code, fixed, ("AO", "LIB"), ("AA", card), ("AB", item), *extra)


@contextlib.asynccontextmanager
async def connected(
    host: str, port: int, tls: ssl.SSLContext | None = None, *, source: str | None = None
) -> AsyncIterator[Client]:
    """A client connected to ``host``; ``source``: from this local address (any loopback
    address, 127.0.0.2 say, is another machine as far as the other side can tell)."""
    local = (source, 0) if source else None
    client = Client(*await asyncio.open_connection(host, port, ssl=tls, local_addr=local))
    try:
        yield client
    finally:
        client.writer.close()
