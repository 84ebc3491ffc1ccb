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


class NotUnpackable(ValueError):
    """The answer is compressed in a way libgate cannot unpack; the message names it."""


class Unpacker:
    """One answer's body, unpacked as its pieces arrive. ``deflate`` is accepted with its
    zlib header or, as some servers send it, without; ``gzip`` may come as several members
    one after another (as concatenating gzip files makes), each unpacked in turn."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        self._bare_deflate_possible = not self._gzip
        self._stream = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or a zlib header

    @property
    def pending(self) -> bool:
        """Input is left that did not fit in the room given last time."""
        return bool(self._stream.unconsumed_tail) or self._next_member_begun()

    def unpack(self, data: bytes, room: int) -> bytes:
        """At most ``room`` bytes of what the input so far (``data`` after what was left
        pending) unpacks to. Raises zlib.error for input that is not what it claims."""
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
        while len(unpacked) < room and self._next_member_begun():
            following = self._stream.unused_data
            self._stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
            unpacked += self._stream.decompress(following, room - len(unpacked))
        return unpacked

    def _next_member_begun(self) -> bool:
        # What follows the last gzip member is another member, or (ignored, as browsers
        # do) padding or junk a server added.
        return self._gzip and self._stream.eof and self._stream.unused_data[:2] == _GZIP_MAGIC

    def rest(self) -> bytes:
        return self._stream.flush()


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
