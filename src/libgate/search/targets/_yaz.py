"""A small ctypes binding to YAZ's ZOOM C API (Debian ``libyaz5``): one blocking Z39.50
search that returns the hit count and the raw records. Call it from a worker thread; each
call has its own connection, so calls in different threads do not share ZOOM state."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Mapping
from dataclasses import dataclass

_LIBRARY_NAMES = ("yaz", "libyaz.so.5")
ERROR_CONNECT = 10000
ERROR_CONNECTION_LOST = 10004
ERROR_TIMEOUT = 10007


class YazMissing(RuntimeError):
    """libyaz could not be loaded."""


@dataclass(frozen=True, slots=True)
class ZoomError(Exception):
    """What ZOOM reported: its code (a bib-1 diagnostic, or 10000 and up for ZOOM's own),
    message and additional information."""

    code: int
    message: str
    addinfo: str

    def __str__(self) -> str:
        return f"{self.message} ({self.addinfo})" if self.addinfo else self.message


@dataclass(frozen=True, slots=True)
class ZoomAnswer:
    """The hit count, and per record fetched either its raw bytes or the server's reason for
    not sending it (a surrogate diagnostic)."""

    hits: int
    records: tuple[bytes | ZoomError, ...]


_P = ctypes.c_void_p
_S = ctypes.c_char_p
_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "ZOOM_options_create": (_P, []),
    "ZOOM_options_set": (None, [_P, _S, _S]),
    "ZOOM_options_destroy": (None, [_P]),
    "ZOOM_connection_create": (_P, [_P]),
    "ZOOM_connection_connect": (None, [_P, _S, ctypes.c_int]),
    "ZOOM_connection_error": (
        ctypes.c_int,
        [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)],
    ),
    "ZOOM_connection_search": (_P, [_P, _P]),
    "ZOOM_connection_destroy": (None, [_P]),
    "ZOOM_query_create": (_P, []),
    "ZOOM_query_prefix": (ctypes.c_int, [_P, _S]),
    "ZOOM_query_destroy": (None, [_P]),
    "ZOOM_resultset_size": (ctypes.c_size_t, [_P]),
    "ZOOM_resultset_records": (None, [_P, ctypes.POINTER(_P), ctypes.c_size_t, ctypes.c_size_t]),
    "ZOOM_resultset_destroy": (None, [_P]),
    "ZOOM_record_get": (_P, [_P, _S, ctypes.POINTER(ctypes.c_int)]),
    "ZOOM_record_error": (
        ctypes.c_int,
        [
            _P,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_char_p),
        ],
    ),
}


@functools.cache
def _load() -> ctypes.CDLL | None:
    for name in _LIBRARY_NAMES:
        path = ctypes.util.find_library(name) or (name if name.endswith(".so.5") else None)
        if path is None:
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for function, (restype, argtypes) in _SIGNATURES.items():
            getattr(library, function).restype = restype
            getattr(library, function).argtypes = argtypes
        return library
    return None


def available() -> bool:
    """Whether libyaz can be loaded here."""
    return _load() is not None


def search(host: str, options: Mapping[str, str], pqf: str, count: int) -> ZoomAnswer:
    """Connect to ``host`` (``host:port``) with ZOOM ``options``, run the PQF query and
    fetch up to ``count`` records, in the syntax ``preferredRecordSyntax`` names.

    Raises ZoomError for what the server or the connection reported, YazMissing without
    libyaz. Every ZOOM object made here is destroyed before it returns.
    """
    yaz = _load()
    if yaz is None:
        raise YazMissing("libyaz.so.5 not found")
    zoom_options = yaz.ZOOM_options_create()
    connection = query = resultset = None
    try:
        for key, value in options.items():
            yaz.ZOOM_options_set(zoom_options, key.encode(), value.encode())
        connection = yaz.ZOOM_connection_create(zoom_options)
        yaz.ZOOM_connection_connect(connection, host.encode(), 0)
        _raise_for_error(yaz, connection)
        query = yaz.ZOOM_query_create()
        if yaz.ZOOM_query_prefix(query, pqf.encode()) != 0:
            raise ZoomError(10010, "Invalid query", pqf)
        resultset = yaz.ZOOM_connection_search(connection, query)
        _raise_for_error(yaz, connection)
        hits = int(yaz.ZOOM_resultset_size(resultset))
        wanted = min(count, hits)
        records: tuple[bytes | ZoomError, ...] = ()
        if wanted:
            # The records belong to the result set: destroying it frees them.
            handles = (_P * wanted)()
            yaz.ZOOM_resultset_records(resultset, handles, 0, wanted)
            _raise_for_error(yaz, connection)
            records = tuple(_record(yaz, handle) for handle in handles if handle)
        return ZoomAnswer(hits, records)
    finally:
        if resultset:
            yaz.ZOOM_resultset_destroy(resultset)
        if query:
            yaz.ZOOM_query_destroy(query)
        if connection:
            yaz.ZOOM_connection_destroy(connection)
        yaz.ZOOM_options_destroy(zoom_options)


def _record(yaz: ctypes.CDLL, handle: int) -> bytes | ZoomError:
    message, addinfo, diagset = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
    code = yaz.ZOOM_record_error(
        handle, ctypes.byref(message), ctypes.byref(addinfo), ctypes.byref(diagset)
    )
    if code:
        return ZoomError(code, _text(message.value), _text(addinfo.value))
    length = ctypes.c_int()
    data = yaz.ZOOM_record_get(handle, b"raw", ctypes.byref(length))
    if not data:
        return ZoomError(0, "the server sent an empty record", "")
    return ctypes.string_at(data, length.value)


def _raise_for_error(yaz: ctypes.CDLL, connection: int) -> None:
    message, addinfo = ctypes.c_char_p(), ctypes.c_char_p()
    code = yaz.ZOOM_connection_error(connection, ctypes.byref(message), ctypes.byref(addinfo))
    if code:
        raise ZoomError(code, _text(message.value), _text(addinfo.value))


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""
