"""Every setting libgate reads, with its default, in one place.

Settings come from a TOML file (``libgate.toml`` in the working directory, or the path in
``LIBGATE_CONFIG``) and are then overridden by environment variables: ``LIBGATE_<KEY>`` for
top-level keys (``LIBGATE_ISSUER``, ``LIBGATE_DATABASE_URL``, ``LIBGATE_SECRET_KEY``) and
``LIBGATE_<SECTION>__<KEY>`` for keys inside a section (``LIBGATE_THROTTLE__LOCKOUT_SECONDS``).
The documented example is ``libgate.toml`` at the root of the repository; ``docs/configuration.md``
is checked against this module by the test suite.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_ENCODING = Literal["cp850", "latin-1", "utf-8"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LibrarySettings(_Section):
    """How the pages look: the library's name, logo and colours."""

    name: str = Field("Your Library Service", description="Shown in every page title and header.")
    logo_url: str = Field("/static/logo.svg", description="URL or path of the logo image.")
    primary_colour: str = Field(
        "#00539f",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="Header and button colour (#rrggbb); keep 4.5:1 contrast with white.",
    )
    help_text: str = Field(
        "Your card number is on the back of your library card. Ask any library for a new PIN.",
        description="Shown under the sign-in form.",
    )


class DirectorySettings(_Section):
    """Where card numbers and PINs are checked."""

    connector: Literal["local", "sip2"] = Field(
        "local",
        description="Patron directory: `local` (imported from CSV) or `sip2` (the LMS, see [lms]).",
    )


class LmsSettings(_Section):
    """The library management system's SIP2 service (for `connector = "sip2"`)."""

    host: str = Field("127.0.0.1", description="Host name or address of the LMS's SIP2 service.")
    port: int = Field(6001, ge=1, le=65535, description="Its TCP port.")
    tls: bool = Field(True, description="Use TLS, verifying the LMS's certificate.")
    tls_ca_file: str = Field(
        "", description="CA bundle (PEM) that signed the LMS's certificate; empty: system CAs."
    )
    tls_client_cert: str = Field(
        "", description="Client certificate (PEM) when the LMS requires mutual TLS."
    )
    tls_client_key: str = Field("", description="Its private key (PEM).")
    login_user: str = Field("", description="libgate's SIP2 login (93 CN) at the LMS.")
    login_password: str = Field(
        "", description="Its password (93 CO); set it from a secret store, not this file."
    )
    location_code: str = Field("", description="Location code sent at login (93 CP).")
    institution: str = Field("", description="Institution id (AO) the LMS expects.")
    terminal_password: str = Field("", description="Terminal password (AC), if the LMS uses one.")
    encoding: _ENCODING = Field(
        "cp850", description="Character set of the SIP2 service (SIP2's default is cp850)."
    )
    error_detection: bool = Field(
        True, description="Send and check AY sequence numbers and AZ checksums."
    )
    pool_size: int = Field(4, ge=1, description="Connections to the LMS per libgate process.")
    timeout_seconds: float = Field(
        5.0, gt=0, description="Longest wait for the LMS to connect or answer."
    )
    keepalive_seconds: float = Field(
        60.0, ge=0, description="Idle connections get a SIP2 status (99) this often; 0: never."
    )


# The fixed fields of SIP2 answers that describe the patron, not the transaction.
PatronDetail = Literal[
    "patron_status",
    "language",
    "hold_items_count",
    "overdue_items_count",
    "charged_items_count",
    "fine_items_count",
    "recall_items_count",
    "unavailable_holds_count",
]


class VendorPolicy(_Section):
    """What one kind of SIP2 client (kiosk, e-resource platform) may do through the gateway."""

    messages: list[str] = Field(
        default_factory=lambda: ["99", "63", "23", "35"],
        description="SIP2 messages it may send (login, 93, is always allowed).",
    )
    fields: list[str] = Field(
        default_factory=lambda: ["AO", "AA", "BL", "CQ"],
        description="Variable fields it may receive in answers; all others are removed.",
    )
    fixed_fields: list[PatronDetail] = Field(
        default_factory=list,
        description=(
            "Fixed fields about the patron it may receive in answers: patron_status (the 14 "
            "flags: card reported lost, excessive fines ...), language, and the counts of "
            "items held, overdue, charged, fined, recalled and unavailable holds "
            "(hold_items_count ... unavailable_holds_count). Others are sent blank."
        ),
    )
    real_card: bool = Field(
        False,
        description="Receive real card numbers in AA and CY; otherwise a pseudonym per vendor.",
    )
    rate_per_second: float = Field(
        20.0, gt=0, description="Messages per second allowed on one connection."
    )
    max_connections: int = Field(
        0,
        ge=0,
        description="Connections one account with this policy may have logged in at once; a "
        "login beyond this is refused. 0: only the gateway's own limits.",
    )
    offline_lending: bool = Field(
        False,
        description="While the LMS is down, take checkouts (11) and checkins (09) to replay later.",
    )
    encoding: _ENCODING = Field("cp850", description="Character set the vendor's client uses.")


def _default_policies() -> dict[str, VendorPolicy]:
    every_request = ["99", "63", "23", "11", "09", "17", "19", "25", "15", "29", "65", "35", "37"]
    return {
        "validation": VendorPolicy(max_connections=20),  # type: ignore[call-arg]
        "kiosk": VendorPolicy(
            messages=every_request,
            fields=[
                "AO",
                "AA",
                "AB",
                "AE",
                "AF",
                "AG",
                "AH",
                "AJ",
                "AQ",
                "BL",
                "CQ",
                "BH",
                "BV",
                "BK",
                "BT",
                "CH",
                "CK",
                "CI",
                "AU",
                "AS",
                "AT",
                "AV",
            ],
            fixed_fields=list(get_args(PatronDetail)),
            real_card=True,
            offline_lending=True,
        ),  # type: ignore[call-arg]
    }


class GatewaySettings(_Section):
    """The SIP2 gateway that kiosks and vendors connect to (`libgate sip2 serve`)."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(6002, ge=1, le=65535, description="TCP port to listen on.")
    tls_cert_file: str = Field(
        "", description="Certificate chain (PEM) to serve TLS with; empty: plain TCP."
    )
    tls_key_file: str = Field("", description="Its private key (PEM).")
    tls_client_ca_file: str = Field(
        "", description="Require client certificates signed by this CA (mutual TLS)."
    )
    idle_timeout_seconds: float = Field(
        300.0, gt=0, description="Close a connection silent for this long."
    )
    message_timeout_seconds: float = Field(
        10.0, gt=0, description="A message begun must be complete within this (cuts slow senders)."
    )
    max_message_size: int = Field(
        8192, ge=256, description="Longest message accepted; a longer one closes the connection."
    )
    max_connections: int = Field(500, ge=1, description="Connections served at once.")
    max_connections_per_address: int = Field(
        100,
        ge=1,
        description="Connections one network address may hold at once (kiosks behind one "
        "router share its address); a connection beyond this is closed at once.",
    )
    offline_loans_per_patron: int = Field(
        5, ge=0, description="Checkouts one card may make while the LMS is down."
    )
    policies: dict[str, VendorPolicy] = Field(
        default_factory=_default_policies,
        description="Policies by name; each vendor account names one.",
    )


class TargetSettings(_Section):
    """One place federated search looks: a neighbouring authority's catalogue (SRU or
    Z39.50), libgate's own local index, or a JSON / OpenSearch service."""

    protocol: Literal["sru", "z3950", "local", "json"] = Field(
        ..., description="How to reach it: sru, z3950, local (libgate's own index) or json."
    )
    title: str = Field("", description="Name shown to residents (default: the target's key).")
    url: str = Field(
        "",
        description=(
            "sru: the base URL (http://host:port/path). z3950: host:port/database. json: an "
            "OpenSearch URL template with {searchTerms} and {count} "
            "(https://host/search.json?q={searchTerms}&limit={count})."
        ),
    )
    sru_version: Literal["1.1", "1.2", "2.0"] = Field("1.2", description="SRU version to speak.")
    record_schema: str = Field(
        "marcxml", description="Record schema to ask for: marcxml, dc (SRU), usmarc (Z39.50)."
    )
    indexes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "How the query's fields are named there. SRU: CQL index names "
            '(e.g. {title = "dc.title", author = "dc.creator", subject = "dc.subject", '
            'isbn = "bath.isbn", any = "cql.serverChoice"}). Z39.50: bib-1 use attributes '
            '(e.g. {title = "4", author = "1003", subject = "21", isbn = "7", any = "1016"}). '
            "Empty: the standard names given here. A field left out is searched as any word, "
            "with a note to the resident."
        ),
    )
    json_fields: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "json: where things are in its answer, as dotted paths: records (the list), hits "
            "(the total), and in each record id, title, subtitle, authors, isbns, issns, year, "
            "publisher, edition, language, subjects, format. For Open Library's search.json: "
            '{records = "docs", hits = "numFound", id = "key", title = "title", '
            'authors = "author_name", isbns = "isbn", year = "first_publish_year", '
            'publisher = "publisher", subjects = "subject", language = "language"}.'
        ),
    )
    timeout_seconds: float = Field(8.0, gt=0, description="Give up on this target after this.")
    weight: float = Field(1.0, gt=0, description="Relevance boost for records from here.")
    records: int = Field(100, ge=1, le=1000, description="Records to fetch per search.")
    username: str = Field("", description="Login, if the target needs one.")
    password: str = Field("", description="Its password.")
    max_concurrent: int = Field(4, ge=1, description="Searches sent to it at once.")
    enabled: bool = Field(True, description="false: kept in the file but not searched.")


class SearchSettings(_Section):
    """Federated search: the targets searched together, and the local index."""

    local_index: str = Field(
        "catalogue.db",
        description="File of libgate's own catalogue index (libgate catalogue import).",
    )
    cache_seconds: int = Field(300, ge=0, description="Keep a search's results this long.")
    max_wait_seconds: float = Field(
        15.0, gt=0, description="Longest any search waits for its slowest target."
    )
    searches_per_minute: int = Field(
        120,
        ge=0,
        description="New searches one client address may start in a minute (each asks every "
        "target; answers from the cache do not count); 0 for no limit.",
    )
    reader_processes: int = Field(
        2,
        ge=0,
        description="Worker processes (per libgate process) that read SRU and JSON answers "
        "into records, on every core and beside the web server; 0: read them in a thread of "
        "the web server instead.",
    )
    targets: dict[str, TargetSettings] = Field(
        default_factory=lambda: {
            "local": TargetSettings.model_validate({"protocol": "local", "title": "This library"})
        },
        description="The targets, by short name (letters, digits, - and _).",
    )


class ThrottleSettings(_Section):
    """PIN guessing defence (Cyber Essentials: no more than 10 guesses in 5 minutes)."""

    window_seconds: int = Field(300, ge=1, description="Sliding window for counting failures.")
    max_failures_per_card: int = Field(
        10, ge=1, description="Failed PINs allowed per card in the window before a lockout."
    )
    max_failures_per_ip: int = Field(
        50, ge=1, description="Failed PINs allowed per client address in the window."
    )
    lockout_seconds: int = Field(
        300, ge=1, description="First lockout; each further lockout doubles it."
    )
    max_lockout_seconds: int = Field(
        3600, ge=1, description="Longest lockout: lockouts are never permanent."
    )


class TokenSettings(_Section):
    """Lifetimes (seconds) and signing of what the OpenID provider issues."""

    signing_alg: Literal["ES256", "RS256"] = Field(
        "ES256", description="Default ID token and access token signing algorithm."
    )
    code_ttl: int = Field(60, ge=1, description="Authorization code lifetime.")
    access_token_ttl: int = Field(600, ge=1, description="Access token lifetime.")
    id_token_ttl: int = Field(600, ge=1, description="ID token lifetime.")
    refresh_token_ttl: int = Field(
        1_209_600, ge=1, description="Refresh token lifetime (each refresh issues a new one)."
    )
    grant_lifetime: int = Field(
        7_776_000,
        ge=1,
        description="Longest a sign-in lasts through refreshes before the resident signs in again.",
    )
    key_overlap_seconds: int = Field(
        86_400,
        ge=0,
        description="After `keys rotate`, how long the old key stays published for verifying.",
    )


class SessionSettings(_Section):
    """Browser sessions at libgate (ASVS 5 L2 timeouts)."""

    idle_timeout: int = Field(1800, ge=60, description="Sign out after this much inactivity.")
    absolute_timeout: int = Field(43_200, ge=60, description="Sign out this long after sign-in.")


class Settings(_Section):
    """The whole configuration."""

    issuer: str = Field(
        "http://127.0.0.1:8080",
        description="Public base URL of libgate; the OpenID issuer. Use https in production.",
    )
    database_url: str = Field(
        "sqlite:///libgate.db",
        description="SQLite path (embedded default) or postgresql://user@host/db.",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        description=(
            "Size of each worker process's PostgreSQL pool; a worker opens up to twice "
            "this (bursts, and the pool of the busiest requests). Size max_connections "
            "for workers x 2 x this."
        ),
    )
    secret_key: str = Field(
        "",
        description=(
            "Secret for pseudonyms, CSRF and key encryption. Empty: one is generated and kept "
            "in the database. Set it (from a secret store) in production."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Structured JSON log level."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For is believed.",
    )
    library: LibrarySettings = Field(default_factory=LibrarySettings)  # type: ignore[arg-type]
    directory: DirectorySettings = Field(default_factory=DirectorySettings)  # type: ignore[arg-type]
    lms: LmsSettings = Field(default_factory=LmsSettings)  # type: ignore[arg-type]
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)  # type: ignore[arg-type]
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)  # type: ignore[arg-type]
    tokens: TokenSettings = Field(default_factory=TokenSettings)  # type: ignore[arg-type]
    sessions: SessionSettings = Field(default_factory=SessionSettings)  # type: ignore[arg-type]
    search: SearchSettings = Field(default_factory=SearchSettings)  # type: ignore[arg-type]

    @property
    def issuer_url(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def https(self) -> bool:
        """Whether residents reach libgate over HTTPS (its issuer address says so)."""
        return self.issuer.startswith("https://")


class ConfigError(Exception):
    """The configuration file or environment holds something libgate cannot use."""


ENV_PREFIX = "LIBGATE_"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "LIBGATE_CONFIG":
            continue
        if name.startswith("LIBGATE_TEST_"):  # the test suite's own settings, not libgate's
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if path[-1] == "trusted_proxies":
            target[path[-1]] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            target[path[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and apply ``LIBGATE_*`` overrides."""
    env = dict(os.environ if environ is None else environ)
    path = Path(env.get("LIBGATE_CONFIG", "libgate.toml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    elif "LIBGATE_CONFIG" in env:
        raise ConfigError(f"LIBGATE_CONFIG names {path}, which does not exist")
    try:
        return Settings.model_validate(_merge(data, _env_overrides(env)))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"configuration not valid: {problems}") from exc
