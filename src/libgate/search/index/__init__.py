"""libgate's own catalogue index: MARC 21 / MARCXML files imported into one SQLite file and
searched with FTS5, ranked by field-weighted BM25."""

from libgate.search.index._import import ImportReport
from libgate.search.index._read import NotMarc
from libgate.search.index._store import IndexUnusable, LocalIndex

__all__ = ["ImportReport", "IndexUnusable", "LocalIndex", "NotMarc"]
