"""Federated search assembled from the settings: the targets, the service the web face
uses, and the SRU face over the local index."""

from __future__ import annotations

from pathlib import Path

from libgate.config import Settings, TargetSettings
from libgate.db import Database
from libgate.privacy import Pseudonyms
from libgate.search._federation import Federation
from libgate.search._service import SearchService
from libgate.search._sessions import SearchSessions
from libgate.search._sru_server import SruServer
from libgate.search.index import LocalIndex
from libgate.search.query import BIB1_ATTRIBUTES, STANDARD_CQL_INDEXES
from libgate.search.targets import AnswerReaders, Target, build_target

_STANDARD_INDEXES = {"sru": STANDARD_CQL_INDEXES, "z3950": BIB1_ATTRIBUTES}


def build_search(
    settings: Settings, database: Database, pseudonyms: Pseudonyms
) -> tuple[SearchService, SruServer]:
    """The search service and the SRU face; ``pseudonyms`` stand for the client addresses
    kept for the limit on new searches."""
    index = LocalIndex(Path(settings.search.local_index))
    readers = AnswerReaders(settings.search.reader_processes)
    targets: dict[str, tuple[Target, TargetSettings]] = {}
    for name, configured in settings.search.targets.items():
        if not configured.enabled:
            continue
        if not configured.indexes and configured.protocol in _STANDARD_INDEXES:
            configured = configured.model_copy(
                update={"indexes": dict(_STANDARD_INDEXES[configured.protocol])}
            )
        targets[name] = (
            build_target(name, configured, local_index=index, readers=readers),
            configured,
        )
    service = SearchService(
        SearchSessions(database),
        Federation(targets, readers=readers),
        cache_seconds=settings.search.cache_seconds,
        max_wait_seconds=settings.search.max_wait_seconds,
        searches_per_minute=settings.search.searches_per_minute,
        pseudonyms=pseudonyms,
    )
    sru = SruServer(index, title=settings.library.name, base_url=f"{settings.issuer_url}/sru")
    return service, sru
