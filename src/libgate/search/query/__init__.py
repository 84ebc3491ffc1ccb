"""One query language for residents, and its translations: CQL for SRU targets, PQF for
Z39.50 targets, CQL in for libgate's own SRU server, and the words the ranker looks for."""

from libgate.search.query._ast import FIELDS, Boolean, Query, Term
from libgate.search.query._cql import STANDARD_CQL_INDEXES, to_cql
from libgate.search.query._cql_errors import CqlError
from libgate.search.query._cql_parser import parse_cql
from libgate.search.query._parse import QuerySyntaxError, parse
from libgate.search.query._pqf import BIB1_ATTRIBUTES, to_pqf
from libgate.search.query._terms import terms
from libgate.search.query._translation import Translation

__all__ = [
    "BIB1_ATTRIBUTES",
    "FIELDS",
    "STANDARD_CQL_INDEXES",
    "Boolean",
    "CqlError",
    "Query",
    "QuerySyntaxError",
    "Term",
    "Translation",
    "parse",
    "parse_cql",
    "terms",
    "to_cql",
    "to_pqf",
]
