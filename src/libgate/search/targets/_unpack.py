"""Answers sent compressed, unpacked a piece at a time and never further than the caller
has room for: a few kilobytes of gzip can hold a gigabyte."""

from __future__ import annotations

import zlib

# What libgate asks targets for (Accept-Encoding) and can unpack.
ACCEPTED = "gzip, deflate"
_UNPACKED = frozenset({"gzip", "x-gzip", "deflate"})
# Compressions libgate does not ask for and cannot unpack. Any other word in
# Content-Encoding ("identity", "none", "utf-8" from a misconfigured server) is no
# compression at all, and the body is read as it is.
_NOT_UNPACKED = frozenset({"br", "zstd", "compress", "x-compress"})
_GZIP_MAGIC = b"\x1f\x8b"
# An answer in a few gzip members is genuine; in thousands of empty ones, an attack on the
# time it takes to start each.
MAX_GZIP_MEMBERS = 64


class NotUnpackable(ValueError):
    """The answer is compressed in a way libgate cannot unpack; the message names it."""


class Unpacker:
    """One answer's body, unpacked as its pieces arrive. ``deflate`` is accepted with its
    zlib header or, as some servers send it, without; ``gzip`` may come as several members
    one after another (as concatenating gzip files makes), each unpacked in turn, up to
    ``MAX_GZIP_MEMBERS``. Whatever follows the end that is not another member (padding,
    junk) is ignored."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        self._bare_deflate_possible = not self._gzip
        self._stream = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or a zlib header
        self._members = 1
        self._ended = False

    @property
    def pending(self) -> bool:
        """Input is left that did not fit in the room given last time."""
        return bool(self._stream.unconsumed_tail) or self._next_member() is not None

    def unpack(self, data: bytes, room: int) -> bytes:
        """At most ``room`` bytes of what the input so far (``data`` after what was left
        pending) unpacks to. Raises zlib.error for input that is not what it claims."""
        if self._ended:
            return b""
        data = self._stream.unconsumed_tail + data
        try:
            unpacked = self._stream.decompress(data, room)
        except zlib.error:
            if not self._bare_deflate_possible:
                raise
            self._bare_deflate_possible = False
            self._stream = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._stream.decompress(data, room)
        finally:
            self._bare_deflate_possible = False  # decided by the first piece
        while len(unpacked) < room and (following := self._next_member()) is not None:
            self._members += 1
            if self._members > MAX_GZIP_MEMBERS:
                raise zlib.error(f"more than {MAX_GZIP_MEMBERS} gzip members")
            self._stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
            unpacked += self._stream.decompress(following, room - len(unpacked))
        return unpacked

    def _next_member(self) -> bytes | None:
        """What follows the end of the last member, when it begins another member."""
        if not self._stream.eof:
            return None
        following = self._stream.unused_data
        if len(following) < len(_GZIP_MAGIC):
            return None  # not yet known: more may come
        if not self._gzip or not following.startswith(_GZIP_MAGIC):
            self._ended = True  # the rest is not kept, let alone unpacked
            return None
        return following

    def rest(self) -> bytes:
        return b"" if self._ended else self._stream.flush()


def unpacker_for(content_encoding: str) -> Unpacker | None:
    """The unpacker for a Content-Encoding header; None for a body sent as it is. Raises
    NotUnpackable for a compression libgate cannot unpack, or for several at once."""
    codings = [coding.strip().lower() for coding in content_encoding.split(",")]
    packed = [coding for coding in codings if coding in _UNPACKED | _NOT_UNPACKED]
    if not packed:
        return None
    if len(packed) > 1 or packed[0] in _NOT_UNPACKED:
        raise NotUnpackable(", ".join(packed))
    return Unpacker(packed[0])
