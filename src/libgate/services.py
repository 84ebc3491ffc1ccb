"""Wires libgate's capabilities together from the settings. The web app and the CLI both
start here, so they always see the same parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from libgate.config import Settings
from libgate.db import Database, ensure_latest, reaching
from libgate.oidc import (
    ClientRegistry,
    ConsentStore,
    KeyStore,
    OpenIDProvider,
    SessionStore,
    TokenService,
)
from libgate.patrons import (
    CardSignIn,
    LocalDirectory,
    PatronDirectory,
    PinGuard,
    PinHasher,
    Sip2Directory,
)
from libgate.privacy import AuditTrail, Pseudonyms
from libgate.secrets import InstanceSecrets
from libgate.sip2 import LmsPool, lms_link

if TYPE_CHECKING:
    from libgate.search import SearchService, SruServer


@dataclass
class Services:
    settings: Settings
    database: Database
    audit: AuditTrail
    pseudonyms: Pseudonyms
    hasher: PinHasher
    directory: PatronDirectory
    guard: PinGuard
    clients: ClientRegistry
    keys: KeyStore
    provider: OpenIDProvider
    form_key: bytes
    lms: LmsPool | None
    _search: tuple[SearchService, SruServer] | None = field(default=None, init=False)

    @property
    def search(self) -> SearchService:
        return self._federated_search()[0]

    @property
    def sru(self) -> SruServer:
        return self._federated_search()[1]

    def _federated_search(self) -> tuple[SearchService, SruServer]:
        # Made when first used: most staff commands never search, and start about 0.2 s
        # sooner without loading the search package and its HTTP client.
        if self._search is None:
            from libgate.search import build_search

            self._search = build_search(self.settings, self.database, self.pseudonyms)
        return self._search

    async def purge_expired(self) -> None:
        """Housekeeping: delete what has expired (run every few minutes by each instance;
        deletes are idempotent, so instances need not agree on who does it)."""
        await self.provider.purge_expired()
        await self.guard.purge_expired()
        await self.search.purge_expired()

    async def close(self) -> None:
        if self._search is not None:
            await self.search.aclose()
        if self.lms is not None:
            await self.lms.close()
        await self.database.dispose()


async def build_services(
    settings: Settings, *, migrate: bool = True, lms: bool = False
) -> Services:
    """Everything, connected. ``lms``: connect to the LMS (``[lms]``) even when the
    directory does not use it (the SIP2 gateway does)."""
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        async with reaching(settings.database_url):
            if migrate:
                await ensure_latest(database)
            secrets = await InstanceSecrets.load(database, settings.secret_key)
    except BaseException:
        await database.dispose()
        raise
    audit = AuditTrail(database)
    pseudonyms = Pseudonyms(secrets.derive("pseudonyms"))
    hasher = PinHasher()
    lms_pool: LmsPool | None = None
    if lms or settings.directory.connector == "sip2":
        lms_pool = LmsPool(
            lms_link(settings.lms),
            size=settings.lms.pool_size,
            keepalive_seconds=settings.lms.keepalive_seconds,
        )
    directory: PatronDirectory
    if settings.directory.connector == "sip2":
        assert lms_pool is not None
        directory = Sip2Directory(
            lms_pool,
            institution=settings.lms.institution,
            terminal_password=settings.lms.terminal_password,
        )
    else:
        directory = LocalDirectory(database, hasher)
    guard = PinGuard(database, settings.throttle)
    clients = ClientRegistry(database)
    keys = KeyStore(database, secrets.derive("signing-keys"), settings.tokens.key_overlap_seconds)
    await keys.ensure_keys()
    tokens = TokenService(
        database=database,
        keys=keys,
        audit=audit,
        pseudonyms=pseudonyms,
        settings=settings.tokens,
        issuer=settings.issuer_url,
        directory=directory,
    )
    provider = OpenIDProvider(
        settings=settings,
        database=database,
        clients=clients,
        keys=keys,
        tokens=tokens,
        sessions=SessionStore(database, settings.sessions),
        consents=ConsentStore(database),
        signin=CardSignIn(database, directory, guard, audit, pseudonyms),
        directory=directory,
        audit=audit,
        pseudonyms=pseudonyms,
    )
    return Services(
        settings=settings,
        database=database,
        audit=audit,
        pseudonyms=pseudonyms,
        hasher=hasher,
        directory=directory,
        guard=guard,
        clients=clients,
        keys=keys,
        provider=provider,
        form_key=secrets.derive("forms"),
        lms=lms_pool,
    )
