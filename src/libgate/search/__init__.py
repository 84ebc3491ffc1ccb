"""Federated search: one query to the library's own catalogue and its neighbours' at once,
merged into editions, ranked, faceted and streamed as the targets answer; and libgate's own
SRU service for neighbours to search this library."""

from libgate.search._build import build_search
from libgate.search._facets import FACETS, FacetValue, facets, narrow
from libgate.search._federation import MAX_HITS, Federation, TargetOutcome
from libgate.search._merge import Merger, work_key
from libgate.search._model import FORMATS, Cluster, Holding, Record, TargetAnswer, TargetError
from libgate.search._present import SORTS, Gathered, present
from libgate.search._rank import Sort, rank
from libgate.search._service import SearchService, TooManySearches, UnknownTargets
from libgate.search._sessions import SearchSessions, SessionState, TargetState
from libgate.search._sru_server import SruServer
from libgate.search._summary import summary
from libgate.search.query import QuerySyntaxError

__all__ = [
    "FACETS",
    "FORMATS",
    "MAX_HITS",
    "SORTS",
    "Cluster",
    "FacetValue",
    "Federation",
    "Gathered",
    "Holding",
    "Merger",
    "QuerySyntaxError",
    "Record",
    "SearchService",
    "SearchSessions",
    "SessionState",
    "Sort",
    "SruServer",
    "TargetAnswer",
    "TargetError",
    "TargetOutcome",
    "TargetState",
    "TooManySearches",
    "UnknownTargets",
    "build_search",
    "facets",
    "narrow",
    "present",
    "rank",
    "summary",
    "work_key",
]
