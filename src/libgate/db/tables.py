"""The database schema. Migrations in ``migrations/versions`` must match it (a test checks)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Times are POSIX seconds (float): comparable across processes and databases without time zones.

instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

patrons = Table(
    "patrons",
    metadata,
    Column("card", String(64), primary_key=True),
    Column("pin_hash", String(255), nullable=False),
    Column("name", String(255), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("expires", String(10), nullable=True),
    Column("branch", String(128), nullable=False, default=""),
    Column("category", String(64), nullable=False, default=""),
    Column("blocked", Boolean, nullable=False, default=False),
)

pin_failures = Table(
    "pin_failures",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("key", String(128), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_pin_failures_key_at", "key", "at"),
)

lockouts = Table(
    "lockouts",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("until", Float, nullable=False),
    Column("level", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# The longest "who" and "where" an audit entry holds (they can come from the other side).
AUDIT_CLIENT_ID_LENGTH = 128
AUDIT_IP_LENGTH = 64

audit_log = Table(
    "audit_log",
    metadata,
    # Insertion order. Rows commit out of order under concurrency, so the chain position
    # (seq) and hashes are assigned later, by the sealer, in one place at a time.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("seq", BigInteger, nullable=True, unique=True),
    Column("at", Float, nullable=False),
    Column("event", String(64), nullable=False),
    Column("patron_ref", String(64), nullable=True, index=True),
    Column("client_id", String(AUDIT_CLIENT_ID_LENGTH), nullable=True),
    Column("ip", String(AUDIT_IP_LENGTH), nullable=True),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index(
        "ix_audit_log_unsealed",
        "id",
        sqlite_where=text("seq IS NULL"),
        postgresql_where=text("seq IS NULL"),
    ),
)

oidc_clients = Table(
    "oidc_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("secret_hash", String(64), nullable=True),
    Column("auth_method", String(32), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("jwks", JSON, nullable=True),
    Column("sector", String(255), nullable=False),
    Column("subject_type", String(16), nullable=False),
    Column("id_token_alg", String(16), nullable=True),
    Column("created_at", Float, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("sealed_private_jwk", LargeBinary, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float, nullable=True),
    Column("verify_until", Float, nullable=True),
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("sid", String(64), nullable=False, unique=True),
    Column("card", String(64), nullable=False),
    Column("auth_time", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

auth_requests = Table(
    "auth_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("params", JSON, nullable=False),
    Column("expires_at", Float, nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("card", String(64), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("scopes", JSON, nullable=False),
    Column("granted_at", Float, nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False, index=True),
    Column("card", String(64), nullable=False, index=True),
    Column("sid", String(64), nullable=True, index=True),
    Column("scopes", JSON, nullable=False),
    Column("auth_time", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)

auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("grant_id", String(64), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=True),
    Column("nonce", String(512), nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("grant_id", String(64), nullable=False, index=True),
    Column("client_id", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
)

revoked_access_tokens = Table(
    "revoked_access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
)

client_assertion_jtis = Table(
    "client_assertion_jtis",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", Float, nullable=False),
)

# SIP2 gateway: the accounts kiosks and vendors log in with (93 CN / CO) ...
SIP2_LOGIN_LENGTH = 64

sip2_vendors = Table(
    "sip2_vendors",
    metadata,
    Column("login", String(SIP2_LOGIN_LENGTH), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
)

# ... and the checkouts and checkins kiosks made while the LMS was down, replayed in order.
sip2_journal = Table(
    "sip2_journal",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("vendor", String(64), nullable=False),
    Column("code", String(2), nullable=False),
    Column("message", Text, nullable=False),
    Column("card", String(64), nullable=False, index=True),
    Column("item", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("replayed_at", Float, nullable=True),
    Column("outcome", Text, nullable=True),
)

# Federated search: a search running or recently run (any instance can read it; the one
# that took the request asks the targets) ...
search_sessions = Table(
    "search_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("cache_key", String(64), nullable=False, index=True),
    Column("query", Text, nullable=False),
    Column("targets", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("deadline_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    # Keyed hash of the client address that started it: for the per-client limit.
    Column("requester", String(64), nullable=True, index=True),
)

# ... and what each target answered to it.
search_results = Table(
    "search_results",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("target", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("hits", Integer, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("message", Text, nullable=False),
    Column("diagnostics", JSON, nullable=False),
    Column("records", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)
