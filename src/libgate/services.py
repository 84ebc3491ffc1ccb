"""Wires libgate's capabilities together from the settings. The web app and the CLI both
start here, so they always see the same parts."""

from __future__ import annotations

from dataclasses import dataclass

from libgate.config import Settings
from libgate.db import Database, upgrade_to_latest
from libgate.oidc import (
    ClientRegistry,
    ConsentStore,
    KeyStore,
    OpenIDProvider,
    SessionStore,
    TokenService,
)
from libgate.patrons import CardSignIn, LocalDirectory, PatronDirectory, PinGuard, PinHasher
from libgate.privacy import AuditTrail, Pseudonyms
from libgate.secrets import InstanceSecrets


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

    async def purge_expired(self) -> None:
        """Housekeeping: delete what has expired (run every few minutes by each instance;
        deletes are idempotent, so instances need not agree on who does it)."""
        await self.provider.purge_expired()
        await self.guard.purge_expired()

    async def close(self) -> None:
        await self.database.dispose()


async def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    if migrate:
        await upgrade_to_latest(settings.database_url)
    secrets = await InstanceSecrets.load(database, settings.secret_key)
    audit = AuditTrail(database)
    pseudonyms = Pseudonyms(secrets.derive("pseudonyms"))
    hasher = PinHasher()
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
    )
